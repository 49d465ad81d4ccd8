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
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("cannot connect to the Docker daemon at `{host}`")),
        "{message}"
    );
    assert!(message.ends_with("(is Docker running?)"), "{message}");
}
