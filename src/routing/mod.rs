//! Read routing for a primary with streaming replicas: the routing map ([`map`]) and the
//! statement router (`route`), and the report of `route classify` ([`report`]).

pub(crate) mod admission;
pub mod export;
pub mod map;
pub mod report;
pub(crate) mod route;

pub use map::RoutingMap;
pub use route::{Decision, Reason, Router, Session, Target};
