-- expect: nothing
-- NOT VALID
SET lock_timeout = '2s';
ALTER TABLE accounts ADD CONSTRAINT accounts_score_pos CHECK ) NOT VALID;
