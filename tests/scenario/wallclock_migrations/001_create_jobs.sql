-- One row per dispatched job: its id (uuid4), a jitter (random.random) and when it was made (datetime.now).
CREATE TABLE jobs (
    job_id SYMBOL,
    seq LONG,
    jitter DOUBLE,
    due TIMESTAMP,
    at TIMESTAMP
) timestamp(at) PARTITION BY DAY WAL;
