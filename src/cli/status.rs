//! One status line on stderr for long work, drawn only when stderr is a terminal: redrawn at
//! most ten times a second, cleared when the work is done. The explain progress bar, the log
//! reading line and the library's progress events all draw through it.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A throttled, clearable line on stderr.
pub struct StatusLine {
    enabled: bool,
    last: Mutex<Option<Instant>>,
}

impl StatusLine {
    /// A line on stderr when it is a terminal (else drawing does nothing).
    pub fn on_stderr() -> StatusLine {
        StatusLine {
            enabled: std::io::stderr().is_terminal(),
            last: Mutex::new(None),
        }
    }

    /// Draw `text` unless the line was drawn less than 100 ms ago.
    pub fn draw(&self, text: &str) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.is_some_and(|l| now.duration_since(l) < Duration::from_millis(100)) {
            return;
        }
        *last = Some(now);
        let mut err = std::io::stderr();
        let _ = write!(err, "\r\x1b[2K{text}");
        let _ = err.flush();
    }

    /// Clear the line (the next draw is immediate).
    pub fn clear(&self) {
        if !self.enabled {
            return;
        }
        if let Ok(mut last) = self.last.lock() {
            *last = None;
        }
        let mut err = std::io::stderr();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

/// The library's progress events (`dbkit::progress`) drawn on a [`StatusLine`].
pub struct ProgressLayer {
    line: StatusLine,
}

impl ProgressLayer {
    /// A layer drawing on stderr (when it is a terminal).
    pub fn on_stderr() -> ProgressLayer {
        ProgressLayer {
            line: StatusLine::on_stderr(),
        }
    }
}

#[derive(Default)]
struct Fields {
    what: String,
    done: u64,
    total: u64,
}

impl tracing::field::Visit for Fields {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        match field.name() {
            "done" => self.done = value,
            "total" => self.total = value,
            _ => {}
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "what" {
            self.what = value.chars().take(60).collect();
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "what" {
            self.what = format!("{value:?}").chars().take(60).collect();
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ProgressLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        if f.total > 0 && f.done >= f.total {
            self.line.clear();
        } else {
            self.line
                .draw(&format!("{} {} of {}", f.what, f.done + 1, f.total));
        }
    }
}
