//! The real loyalty-worker binary against a real redis-server, fed through the queue in
//! exactly the format transaction-api writes.

mod running_worker;

use std::process::Command;
use std::time::{Duration, Instant};

use platform::testing::{Process, Redis, free_port, port_open, wait_until};
use platform::token::{Claims, Keys, now};
use running_worker::{Queue, SOON, Worker, consumer_name, token};

#[test]
fn one_transaction_gives_one_stamp() {
    let redis = Redis::start();
    let worker = Worker::start(&redis, &[]);
    let mut queue = Queue::open(&redis);
    queue.add("9b2f5a4e-1f0e-4c55-9b55-2d7c3c7d1a01", 1, 2000);
    queue.wait_drained();

    let (status, body) = worker.get("/balance", Some(&token(1)));
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"user_id": 1, "stamps": 1, "vouchers": 0})
    );
    // The token in the query works as well.
    let (status, body) = worker.get(&format!("/balance?token={}", token(1)), None);
    assert_eq!((status, &body["stamps"]), (200, &serde_json::json!(1)));
    // A user with nothing recorded has a zero balance, not an error.
    assert_eq!(worker.balance(2), (0, 0));
    let log = worker.log();
    let line = log
        .lines()
        .find(|line| line.contains("transaction recorded"))
        .expect("the transaction is logged");
    for part in [
        "id=9b2f5a4e-1f0e-4c55-9b55-2d7c3c7d1a01",
        "user_id=1",
        "amount=2000",
        "currency=GBP",
        "stamps=1",
        "vouchers=0",
    ] {
        assert!(line.contains(part), "{part} missing in: {line}");
    }
}

#[test]
fn stamps_become_a_voucher() {
    let redis = Redis::start();
    let worker = Worker::start(&redis, &[("STAMPS_PER_VOUCHER", "3")]);
    let mut queue = Queue::open(&redis);
    // (transactions so far, stamps, vouchers) after each one, as Rule::apply computes it:
    // this checks the Lua script step by step.
    let expected = [
        (1, 1, 0),
        (2, 2, 0),
        (3, 0, 1),
        (4, 1, 1),
        (5, 2, 1),
        (6, 0, 2),
        (7, 1, 2),
    ];
    for (n, stamps, vouchers) in expected {
        queue.add(&format!("voucher-{n}"), 1, 500);
        queue.wait_drained();
        assert_eq!(worker.balance(1), (stamps, vouchers), "after {n}");
    }
}

#[test]
fn amounts_below_the_minimum_earn_no_stamp() {
    let redis = Redis::start();
    let worker = Worker::start(
        &redis,
        &[("STAMPS_PER_VOUCHER", "2"), ("MIN_AMOUNT", "500")],
    );
    let mut queue = Queue::open(&redis);
    for (n, amount) in [100, 499, 500, 10_000, 1].into_iter().enumerate() {
        queue.add(&format!("min-{n}"), 1, amount);
    }
    queue.wait_drained();
    assert_eq!(worker.balance(1), (0, 1));
    // All five were recorded (and acknowledged), two of them with a stamp.
    assert_eq!(worker.log().matches("transaction recorded").count(), 5);
    assert_eq!(worker.log().matches("stamp=true").count(), 2);
}

#[test]
fn the_same_transaction_twice_is_awarded_once() {
    let redis = Redis::start();
    let worker = Worker::start(&redis, &[]);
    let mut queue = Queue::open(&redis);
    let first = queue.add("c0ffee00-0000-4000-8000-000000000001", 1, 2000);
    let second = queue.add("c0ffee00-0000-4000-8000-000000000001", 1, 2000);
    assert_ne!(first, second, "two stream entries, one transaction");
    queue.wait_drained();
    assert_eq!(worker.balance(1), (1, 0));
    assert_eq!(worker.recorded(), 1);
    assert!(worker.log().contains("transaction already recorded"));
}

#[test]
fn entries_queued_before_any_worker_ran_are_recorded() {
    let redis = Redis::start();
    let mut queue = Queue::open(&redis);
    // No worker has run: neither the group nor even the stream's consumers exist yet.
    queue.add("early-1", 1, 100);
    queue.add("early-2", 1, 100);
    assert_eq!(queue.group_state(), None);
    let worker = Worker::start(&redis, &[]);
    queue.wait_drained();
    assert_eq!(worker.balance(1), (2, 0));
}

#[test]
fn two_workers_share_the_queue_and_award_each_transaction_once() {
    let redis = Redis::start();
    let env = [("STAMPS_PER_VOUCHER", "3")];
    let a = Worker::start(&redis, &env);
    let b = Worker::start(&redis, &env);
    let mut queue = Queue::open(&redis);
    let users = 1..=7i64;
    // One at a time, so both blocked readers get woken up along the way.
    for n in 0..200i64 {
        queue.add(&format!("pair-{n}"), 1 + n % 7, 100 + n);
    }
    queue.wait_drained();

    let awarded: u64 = users
        .clone()
        .map(|user| {
            let (stamps, vouchers) = a.balance(user);
            stamps + 3 * vouchers
        })
        .sum();
    assert_eq!(awarded, 200);
    assert_eq!(a.recorded() + b.recorded(), 200);
    // Recorded entries leave the stream: the queue does not grow for ever.
    assert_eq!(queue.len("yoyo:transactions"), 0);
    assert!(
        a.recorded() > 0 && b.recorded() > 0,
        "both workers take part: a {} b {}",
        a.recorded(),
        b.recorded()
    );
    eprintln!("A recorded {}, B recorded {}", a.recorded(), b.recorded());
    // Both read the same balances.
    for user in users {
        assert_eq!(a.balance(user), b.balance(user));
    }
}

#[test]
fn a_worker_killed_mid_stream_loses_nothing() {
    const TOTAL: i64 = 10_000;
    let redis = Redis::start();
    let mut queue = Queue::open(&redis);
    // Worker A would only take entries over after a minute: the rescue must come from B.
    let mut a = Worker::start(
        &redis,
        &[("STAMPS_PER_VOUCHER", "3"), ("CLAIM_IDLE_MS", "60000")],
    );
    let a_name = consumer_name(&a).expect("A logs its consumer name");
    let transactions: Vec<(String, i64, i64)> = (0..TOTAL)
        .map(|n| (format!("kill-{n}"), 1 + n % 5, 250))
        .collect();
    queue.add_all(&transactions);

    // Freeze A while it holds delivered, unacknowledged entries, then kill it. SIGSTOP
    // first so what is pending can be seen before the kill; retried (bounded) on the rare
    // moment when A holds nothing.
    assert!(
        wait_until(SOON, || a.recorded() >= 50),
        "A does not work:\n{}",
        a.log()
    );
    let mut held = 0;
    for _ in 0..50 {
        a.process.signal("STOP");
        held = queue.pending_with(&a_name);
        if held > 0 {
            break;
        }
        a.process.signal("CONT");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(held > 0, "A never held pending entries");
    a.process.signal("KILL");
    assert_eq!(
        a.wait_exit(Duration::from_secs(5)),
        Some(None),
        "killed by a signal"
    );
    let recorded_by_a = a.recorded();
    assert!(
        recorded_by_a < TOTAL as usize,
        "A finished before it was killed"
    );

    let b = Worker::start(
        &redis,
        &[("STAMPS_PER_VOUCHER", "3"), ("CLAIM_IDLE_MS", "300")],
    );
    queue.wait_drained();
    assert_eq!(queue.pending(), 0);
    assert!(
        b.log()
            .contains("took over entries another consumer left pending")
    );

    let awarded: u64 = (1..=5)
        .map(|user| {
            let (stamps, vouchers) = queue.balance(user);
            stamps + 3 * vouchers
        })
        .sum();
    assert_eq!(awarded, TOTAL as u64, "every transaction exactly once");
    // A crash after the award and before the log line is possible, so the logs may show
    // fewer than TOTAL; they can never show more.
    assert!(recorded_by_a + b.recorded() <= TOTAL as usize);
    assert!(b.recorded() > 0);
    eprintln!(
        "A recorded {recorded_by_a} and held {held} when killed; B recorded {}",
        b.recorded()
    );
}

#[test]
fn sigterm_finishes_the_batch_in_hand_and_exits_0() {
    let redis = Redis::start();
    let mut queue = Queue::open(&redis);
    let mut worker = Worker::start(&redis, &[]);
    let transactions: Vec<(String, i64, i64)> =
        (0..5_000).map(|n| (format!("term-{n}"), 1, 100)).collect();
    queue.add_all(&transactions);
    assert!(wait_until(SOON, || worker.recorded() >= 20));

    let asked = Instant::now();
    worker.process.signal("TERM");
    let exit = worker.wait_exit(Duration::from_secs(10));
    assert_eq!(exit, Some(Some(0)), "exit code 0:\n{}", worker.log());
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "took {:?}",
        asked.elapsed()
    );
    // Nothing it took is left half done: no entry pending, and what it recorded is exactly
    // what the balance shows.
    assert_eq!(queue.pending(), 0);
    let (stamps, vouchers) = queue.balance(1);
    assert_eq!((stamps + 10 * vouchers) as usize, worker.recorded());
    assert!(worker.log().contains("left the consumer group"));
}

#[test]
fn balance_refuses_bad_or_absent_tokens() {
    let redis = Redis::start();
    let worker = Worker::start(&redis, &[]);
    let keys = Keys::new(running_worker::SECRET).unwrap();
    let expired = keys.issue(&Claims {
        user_id: 1,
        username: "alice".into(),
        can_transact: true,
        exp: now() - 10,
    });
    let foreign = Keys::new("another-secret").unwrap().issue(&Claims {
        user_id: 1,
        username: "alice".into(),
        can_transact: true,
        exp: now() + 60,
    });
    let cases: Vec<(String, Option<&str>, &str)> = vec![
        ("/balance".into(), None, "Token is blank"),
        ("/balance?token=".into(), None, "Token is blank"),
        (
            "/balance".into(),
            Some("not-a-token"),
            "Not enough segments",
        ),
        ("/balance".into(), Some(&expired), "Signature has expired"),
        (
            format!("/balance?token={foreign}"),
            None,
            "Signature verification failed",
        ),
    ];
    for (path, bearer, message) in cases {
        let (status, body) = worker.get(&path, bearer);
        assert_eq!(
            (status, body),
            (422, serde_json::json!({ "error": message })),
            "{path} {bearer:?}"
        );
    }
    let (status, body) = worker.get("/nowhere", None);
    assert_eq!((status, body["error"].as_str()), (404, Some("Not found")));
}

#[test]
fn only_the_tokens_own_balance_can_be_read() {
    let redis = Redis::start();
    let worker = Worker::start(&redis, &[]);
    let mut queue = Queue::open(&redis);
    queue.add("own-1", 2, 100);
    queue.add("own-2", 2, 100);
    queue.wait_drained();
    // Alice (1) asks for Bob's (2) balance every way a client might try: she gets her own.
    for path in ["/balance?user_id=2", "/balance?user_id=2&token=x"] {
        let (status, body) = worker.get(path, Some(&token(1)));
        assert_eq!(status, 200);
        assert_eq!(
            body,
            serde_json::json!({"user_id": 1, "stamps": 0, "vouchers": 0})
        );
    }
    assert_eq!(worker.balance(2), (2, 0));
}

#[test]
fn malformed_entries_are_dead_lettered_and_the_worker_goes_on() {
    let redis = Redis::start();
    let mut worker = Worker::start(&redis, &[]);
    let mut queue = Queue::open(&redis);
    queue.add_raw(&[
        ("id", "no-amount"),
        ("user_id", "1"),
        ("currency", "GBP"),
        ("created_at", "1"),
    ]);
    queue.add_raw(&[
        ("id", "bad-amount"),
        ("user_id", "1"),
        ("amount", "12.50"),
        ("currency", "GBP"),
        ("created_at", "1"),
    ]);
    queue.add_raw(&[("hello", "world")]);
    queue.add("fine", 1, 100);
    queue.wait_drained();
    assert!(worker.alive());
    assert_eq!(worker.balance(1), (1, 0));
    assert_eq!(queue.len("yoyo:transactions:dead"), 3);
    let log = worker.log();
    assert!(log.contains("field `amount` is missing"), "{log}");
    assert!(log.contains("field `amount` is invalid (`12.50`)"), "{log}");
    assert!(log.contains("field `id` is missing"), "{log}");
}

#[test]
fn a_worker_started_before_redis_waits_for_it() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/0");
    let mut worker = Worker::spawn(&url, &[]);
    // Up, answering, but unhealthy: Redis is not there.
    assert!(wait_until(SOON, || port_open(worker.port) || !worker.alive()));
    let (status, body) = worker.get("/health", None);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["healthy"], false);
    assert!(wait_until(SOON, || worker.log().contains("retrying")));
    assert!(worker.alive());

    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new("redis-server");
    command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir.path())
        .stdout(std::process::Stdio::null());
    let _redis = Process::spawn(command);
    assert!(wait_until(SOON, || platform::health::check(worker.port).is_ok()));
    let mut connection = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: String = redis::cmd("XADD")
        .arg("yoyo:transactions")
        .arg("*")
        .arg(&[
            ("id", "late"),
            ("user_id", "1"),
            ("amount", "100"),
            ("currency", "GBP"),
            ("created_at", "1"),
        ])
        .query(&mut connection)
        .unwrap();
    assert!(wait_until(SOON, || worker.recorded() == 1));
}

#[test]
fn bad_configuration_stops_the_worker_naming_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("JWT_SECRET", "")], "JWT_SECRET"),
        (&[("HTTP_PORT", "abc")], "HTTP_PORT"),
        (&[("STAMPS_PER_VOUCHER", "0")], "STAMPS_PER_VOUCHER"),
    ];
    for (env, variable) in cases {
        // No Redis is needed to refuse a configuration.
        let mut worker = Worker::spawn("redis://127.0.0.1:1/0", env);
        let exit = worker.wait_exit(SOON).expect("the worker stops by itself");
        assert_ne!(exit, Some(0), "{env:?}");
        assert!(exit.is_some(), "{env:?}: exited, not killed");
        let log = worker.log();
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(log.contains(variable), "{env:?}: {log}");
    }
}
