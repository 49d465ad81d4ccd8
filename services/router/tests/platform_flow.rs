//! The router in front of the whole platform, every part the real binary: redis-server,
//! auth-api, transaction-api and two loyalty-worker replicas, on free loopback ports. A
//! customer's flow goes through the router only, as it does in Docker.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use platform::testing::{Redis, free_port, start_service, workspace_binary};
use serde_json::Value;

const SECRET: &str = "platform-flow-secret";

fn users_file() -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "auth-api", "users.json"]
        .iter()
        .collect();
    path.display().to_string()
}

/// `cargo test --workspace` builds every service binary; say so when one is missing.
fn binary(name: &str) -> PathBuf {
    std::panic::catch_unwind(|| workspace_binary(name)).unwrap_or_else(|_| {
        panic!("the `{name}` binary is not built: run `cargo test --workspace` (or `cargo build -p {name}`) first")
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_pays_and_is_stamped_through_the_router() {
    let redis = Redis::start();
    let common = |extra: &[(&'static str, String)]| {
        let mut env = vec![
            ("JWT_SECRET", SECRET.to_owned()),
            ("REDIS_URL", redis.url()),
        ];
        env.extend_from_slice(extra);
        env
    };
    let (auth, transactions) = (free_port(), free_port());
    let workers = [free_port(), free_port()];
    let _auth = start_service(
        &binary("auth-api"),
        auth,
        &common(&[("USERS_FILE", users_file())]),
    );
    let _transactions = start_service(&binary("transaction-api"), transactions, &common(&[]));
    let _workers: Vec<_> = workers
        .iter()
        .enumerate()
        .map(|(n, port)| {
            let name = format!("flow-worker-{n}");
            start_service(
                &binary("loyalty-worker"),
                *port,
                &common(&[("CONSUMER_NAME", name)]),
            )
        })
        .collect();
    let router = free_port();
    let routes = format!(
        "/authentication=http://127.0.0.1:{auth},/transactions=http://127.0.0.1:{transactions},\
         /loyalty=http://127.0.0.1:{}|http://127.0.0.1:{}",
        workers[0], workers[1]
    );
    let _router = start_service(
        std::path::Path::new(env!("CARGO_BIN_EXE_router")),
        router,
        &[("ROUTES", routes)],
    );

    let base = format!("http://127.0.0.1:{router}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let token = |username: &'static str| {
        let http = http.clone();
        let url = format!("{base}/authentication/token");
        async move {
            let response = http
                .post(url)
                .form(&[("username", username), ("password", "password")])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            body["token"].as_str().unwrap().to_owned()
        }
    };
    let pay = |token: String| {
        let http = http.clone();
        let url = format!("{base}/transactions/transactions");
        async move {
            let response = http
                .post(url)
                .form(&[
                    ("token", token.as_str()),
                    ("amount", "2000"),
                    ("currency", "GBP"),
                ])
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };

    // alice pays three times and sees three stamps, whichever replica answers.
    let alice = token("alice").await;
    for _ in 0..3 {
        let (status, body) = pay(alice.clone()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user_id"], 1);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let balance: Value = http
            .get(format!("{base}/loyalty/balance"))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if balance["stamps"] == 3 {
            assert_eq!(
                balance,
                serde_json::json!({"user_id": 1, "stamps": 3, "vouchers": 0})
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stamps never reached 3: {balance}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // charlie may not pay; a bad token is refused by the service behind the router.
    let (status, body) = pay(token("charlie").await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("User cannot transact"))
    );
    let (status, body) = pay("not.a.token".to_owned()).await;
    assert_eq!(status, 422, "{body}");

    // Each service's own /health, prefix stripped by the router.
    for prefix in ["/authentication", "/transactions", "/loyalty"] {
        let response = http
            .get(format!("{base}{prefix}/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{prefix}/health");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["healthy"], true, "{prefix}/health: {body}");
    }
}
