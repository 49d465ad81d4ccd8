//! An unreachable daemon is reported when connecting. Its own test binary: it changes
//! `DOCKER_HOST`, which no other test may see.

#[tokio::test]
async fn an_unreachable_daemon_is_a_clear_error() {
    let socket = tempfile::tempdir().unwrap().path().join("no-docker.sock");
    let host = format!("unix://{}", socket.display());
    // SAFETY: this binary runs this one test; no other thread reads the environment.
    unsafe { std::env::set_var("DOCKER_HOST", &host) };
    let error = resources::Docker::connect().await.unwrap_err();
    assert!(matches!(error, resources::Error::Connect { .. }), "{error}");
    // One line: the address, the cause once, and what to check.
    assert_eq!(
        error.to_string(),
        format!(
            "cannot connect to the Docker daemon at `{host}`: Socket not found: {}; check \
             that the daemon runs and that --host or DOCKER_HOST names it",
            socket.display()
        )
    );
    assert!(std::error::Error::source(&error).is_none());
}
