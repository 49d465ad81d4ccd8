//! Loading and validation, table-driven: env.toml snippets and the exact messages.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::config::overrides::Overrides;
use crate::kinds::container::{Container, Health, ImageSource};
use crate::kinds::router::RouterSettings;
use crate::kinds::secret::SecretSettings;
use crate::kinds::service::ServiceSettings;

/// A folder with what env.toml snippets point at: build contexts with and without a
/// Dockerfile, and a file to copy into a container.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for context in ["services/api", "services/router"] {
        fs::create_dir_all(dir.path().join(context)).unwrap();
        fs::write(
            dir.path().join(context).join("Dockerfile"),
            "FROM scratch\n",
        )
        .unwrap();
    }
    fs::create_dir_all(dir.path().join("services/bare")).unwrap();
    fs::write(dir.path().join("services/api/users.json"), "[]\n").unwrap();
    dir
}

fn load_with(source: &str, overrides: &Overrides) -> Result<Config, String> {
    let dir = fixture();
    load_source(Path::new("env.toml"), source, dir.path(), overrides).map_err(|d| d.to_string())
}

fn problems(source: &str) -> String {
    match load_with(source, &Overrides::new()) {
        Ok(_) => "(loaded without problems)".to_owned(),
        Err(text) => text,
    }
}

const PROJECT: &str = "[project]\nname = \"yoyo\"\n";

#[test]
fn broken_files_give_exact_messages() {
    // Each snippet follows `[project] name = "yoyo"` (lines 1-2), so it starts at line 3.
    let table: &[(&str, &str)] = &[
        (
            "[service.api]\nimagee = \"x\"\n",
            "env.toml:3:1: error: `service.api` needs `build` or `image`\n\
             env.toml:4:1: error: unknown key `imagee` in `service.api`\n  \
             help: did you mean `image`?",
        ),
        (
            "[servise.api]\nimage = \"x\"\n",
            "env.toml:3:2: error: unknown resource kind `servise`\n  help: did you mean `service`?",
        ),
        (
            "[thing.api]\n",
            "env.toml:3:2: error: unknown resource kind `thing`\n  \
             help: the tables are `project`, `variable`, `output`, `network`, `redis`, `service`, `router`, `secret`, `job`, `volume`",
        ),
        (
            "[service.api]\nimage = \"x\"\nreplicas = \"3\"\n",
            "env.toml:5:12: error: `replicas` must be an integer, found a string",
        ),
        (
            "[service.api]\nimage = \"x\"\nreplicas = 0\n",
            "env.toml:5:12: error: `replicas` must be between 1 and 100, found 0",
        ),
        (
            "[service.api]\nimage = \"x\"\nreplicas = 101\n",
            "env.toml:5:12: error: `replicas` must be between 1 and 100, found 101",
        ),
        (
            "[service.api]\nimage = \"x\"\nbuild = \"services/api\"\n",
            "env.toml:5:9: error: `service.api` has both `build` and `image`\n  help: keep only one of them",
        ),
        (
            "[service.api]\nimage = \"\"\nport = 0\n",
            "env.toml:4:9: error: `image` must not be empty\n\
             env.toml:5:8: error: `port` must be between 1 and 65535, found 0",
        ),
        (
            "[router.edge]\nimage = \"x\"\n",
            "env.toml:3:1: error: missing `listen` in `router.edge`\n\
             env.toml:3:1: error: missing `routes` in `router.edge`",
        ),
        (
            "[service.Api]\nimage = \"x\"\n",
            "env.toml:3:10: error: invalid resource name `Api`\n  help: names must match `[a-z][a-z0-9]*([-_][a-z0-9]+)*`",
        ),
        // Names Docker refuses in an image repository or a DNS label.
        (
            "[service.api-]\nimage = \"x\"\n[service.a_-b]\nimage = \"x\"\n\
             [service.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\nimage = \"x\"\n",
            "env.toml:3:10: error: invalid resource name `api-`\n  help: names must match `[a-z][a-z0-9]*([-_][a-z0-9]+)*`\n\
             env.toml:5:10: error: invalid resource name `a_-b`\n  help: names must match `[a-z][a-z0-9]*([-_][a-z0-9]+)*`\n\
             env.toml:7:10: error: resource name `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa` is longer than 63 characters",
        ),
        // Names that collide on Docker: each apply would remove the other's object.
        (
            "[service.platform]\nimage = \"x\"\n\
             [router.platform]\nimage = \"x\"\nlisten = \"127.0.0.1:1\"\nroutes = { \"/a\" = \"http://a\" }\n",
            "env.toml:5:1: error: `router.platform` would be the container `yoyo-platform`, as `service.platform` is\n  \
             help: rename one of them",
        ),
        (
            "[service.worker]\nimage = \"x\"\nreplicas = 2\n[service.worker-1]\nimage = \"x\"\n",
            "env.toml:6:1: error: `service.worker-1` would be the container `yoyo-worker-1`, as `service.worker` is\n  \
             help: rename one of them",
        ),
        (
            "[redis.queue]\n[service.queue]\nimage = \"x\"\n[volume.queue-data]\n",
            "env.toml:4:1: error: `service.queue` would be the container `yoyo-queue`, as `redis.queue` is\n  \
             help: rename one of them\n\
             env.toml:6:1: error: `volume.queue-data` would be the volume `yoyo-queue-data`, as `redis.queue` is\n  \
             help: rename one of them",
        ),
        (
            "[network.platform]\n[volume.platform]\n[service.platform]\nimage = \"x\"\n",
            "(loaded without problems)",
        ),
        // What Docker refuses or mangles only at apply.
        (
            "[service.api]\nimage = \"x\"\nenv = { \"A=B\" = \"1\", \"\" = \"2\" }\n",
            "env.toml:5:9: error: env key \"A=B\" must not be empty or hold `=`\n\
             env.toml:5:22: error: env key \"\" must not be empty or hold `=`",
        ),
        (
            "[service.api]\nimage = \"x\"\nfiles = { \"/\" = \"services/api/users.json\", \
             \"/etc/../x\" = \"services/api/users.json\", \"/etc/\" = \"services/api/users.json\" }\n\
             volumes = { \"/data//x\" = \"volume.v\" }\n[volume.v]\n",
            "env.toml:5:11: error: `files` target `/` must not be `/` or end in `/`\n\
             env.toml:5:44: error: `files` target `/etc/../x` must not hold `.`, `..` or `//`\n\
             env.toml:5:85: error: `files` target `/etc/` must not be `/` or end in `/`\n\
             env.toml:6:13: error: `volumes` target `/data//x` must not hold `.`, `..` or `//`",
        ),
        (
            "[variable.h]\ndefault = \"c\"\n[router.edge]\nimage = \"x\"\nlisten = \"127.0.0.1:1\"\n\
             routes = { \"/a/..\" = \"http://a\" }\n[router.other]\nimage = \"x\"\nlisten = \"127.0.0.1:2\"\n\
             routes = { \"/b\" = \"auth-api:5000\", \"/c\" = \"http://${var.h}/x\", \"/d\" = \"http://d:1|http://e:2\" }\n",
            "env.toml:8:12: error: route `/a/..` must be a path like `/segment` or `/segment/more`\n\
             env.toml:12:19: error: route `/b` must go to `http://HOST[:PORT]` addresses, found `auth-api:5000`\n\
             env.toml:12:43: error: route `/c` must go to `http://HOST[:PORT]` addresses, found `http://c/x`",
        ),
        (
            "[service.api]\nimage = \"Api:latest\"\n[service.b]\nimage = \"b:\"\n",
            "env.toml:4:9: error: `image` `Api:latest` is not an image reference\n  \
             help: image references look like `name`, `name:tag`, `registry:5000/team/name:tag` or `name@sha256:...`\n\
             env.toml:6:9: error: `image` `b:` is not an image reference\n  \
             help: image references look like `name`, `name:tag`, `registry:5000/team/name:tag` or `name@sha256:...`",
        ),
        (
            "[variable.9port]\ndefault = 1\n",
            "env.toml:3:11: error: invalid variable name `9port`\n  help: names must match `[a-z][a-z0-9_-]*`",
        ),
        (
            "[variable.port]\n",
            "env.toml:3:1: error: variable `port` has no value\n  \
             help: give it a `default`, or set it with `--var port=VALUE` or `YOYOFORM_VAR_port`",
        ),
        (
            "[variable.port]\ndefault = 1.5\n",
            "env.toml:4:11: error: `default` must be a string, an integer or a boolean, found a float",
        ),
        (
            "[service.auth-api]\nimage = \"x\"\n[service.web]\nimage = \"x\"\n\
             env = { A = \"${service.auht-api.url}\", B = \"${service.auth-api.uri}\", C = \"x${var.prot}\" }\n\
             [variable.port]\ndefault = 1\n",
            "env.toml:7:14: error: unknown resource `service.auht-api`\n  help: did you mean `service.auth-api`?\n\
             env.toml:7:45: error: `service.auth-api` has no attribute `uri`\n  help: did you mean `url`?\n\
             env.toml:7:77: error: unknown variable `prot`\n  help: did you mean `port`?",
        ),
        (
            "[redis.queue]\n[service.web]\nimage = \"x\"\nenv = { A = \"${redis.queue.password}\" }\n",
            "env.toml:6:14: error: `redis.queue` has no attribute `password`\n  help: its attributes are `host`, `port`, `url`",
        ),
        (
            "[network.platform]\n[redis.queue]\nnetwork = \"network.platfrom\"\n\
             [redis.cache]\nnetwork = \"redis.queue\"\n[redis.other]\nnetwork = \"platform\"\n",
            "env.toml:5:11: error: unknown resource `network.platfrom`\n  help: did you mean `network.platform`?\n\
             env.toml:7:11: error: `network` must point at a network, `redis.queue` is a redis\n\
             env.toml:9:11: error: `network` must be an address like `network.NAME`, found `platform`",
        ),
        (
            "[network.platform]\ndepends_on = [\"redis.queu\", \"secret.jwt\"]\n[redis.queue]\n",
            "env.toml:4:15: error: unknown resource `redis.queu`\n  help: did you mean `redis.queue`?\n\
             env.toml:4:29: error: unknown resource `secret.jwt`",
        ),
        (
            "[service.a]\nimage = \"x\"\nenv = { B = \"${service.b.url}\" }\n\
             [service.b]\nimage = \"x\"\nenv = { A = \"${service.a.host}\" }\n",
            "env.toml:3:1: error: dependency cycle `service.a -> service.b -> service.a`",
        ),
        (
            "[network.n]\ndepends_on = [\"network.n\"]\n",
            "env.toml:3:1: error: dependency cycle `network.n -> network.n`",
        ),
        (
            "[variable.port]\ndefault = 8080\n\
             [router.edge]\nimage = \"x\"\nlisten = \"127.0.0.1:${var.port}\"\nroutes = { \"/a\" = \"http://a\" }\n\
             [service.api]\nimage = \"x\"\nports = [\"127.0.0.1:8080:5000\", \"5001:5000\", \"5001:5001\"]\n",
            "env.toml:11:10: error: host port 8080 is published by both `router.edge` and `service.api`\n\
             env.toml:11:46: error: host port 5001 is published twice by `service.api`",
        ),
        (
            "[service.api]\nimage = \"x\"\nports = [\"70000:5000\", \"0.0.0.0:80:80\", \"1:2:3:4\", 5000]\n",
            "env.toml:5:10: error: `ports` must be a port between 1 and 65535, found `70000`\n\
             env.toml:5:24: error: `ports` publishes on `0.0.0.0`; only 127.0.0.1 is allowed\n  \
             help: yoyoform publishes ports on 127.0.0.1 only\n\
             env.toml:5:41: error: `ports` entries look like `127.0.0.1:HOST:CONTAINER` or `HOST:CONTAINER`, found `1:2:3:4`\n\
             env.toml:5:52: error: `ports` must be a string, found an integer\n  help: put the value in quotes",
        ),
        (
            "[service.api]\nimage = \"x\"\nreplicas = 2\nports = [\"5001:5000\"]\n",
            "env.toml:6:9: error: `service.api` publishes host ports and has 2 replicas, which cannot share them\n  \
             help: publish one port through a router in front of the replicas",
        ),
        (
            "[service.api]\nimage = \"x\"\n\
             files = { \"/etc/users.json\" = \"services/api/missing.json\", \"etc/x\" = \"services/api/users.json\" }\n",
            "env.toml:5:31: error: `files` source `services/api/missing.json` does not exist\n\
             env.toml:5:60: error: `files` target `etc/x` must be an absolute path in the container",
        ),
        (
            "[service.a]\nbuild = \"services/nowhere\"\n\
             [service.b]\nbuild = { context = \"services/bare\", binary = \"b\" }\n\
             [service.c]\nbuild = { binary = \"c\", dockerfile = \"x\" }\n",
            "env.toml:4:9: error: build context `services/nowhere` does not exist\n\
             env.toml:6:21: error: build context `services/bare` has no Dockerfile\n\
             env.toml:8:9: error: missing `context` in `build`\n\
             env.toml:8:25: error: unknown key `dockerfile` in `build`",
        ),
        (
            "[router.edge]\nimage = \"x\"\nlisten = \"0.0.0.0:8080\"\n\
             routes = { \"authentication\" = \"http://a\", \"/a//b\" = \"http://b\", \"/ok/fine\" = \"http://c\" }\n",
            "env.toml:5:10: error: `listen` publishes on `0.0.0.0`; only 127.0.0.1 is allowed\n  \
             help: yoyoform publishes ports on 127.0.0.1 only\n\
             env.toml:6:12: error: route `authentication` must be a path like `/segment` or `/segment/more`\n\
             env.toml:6:43: error: route `/a//b` must be a path like `/segment` or `/segment/more`",
        ),
        (
            "[router.edge]\nimage = \"x\"\nlisten = \"8080\"\nroutes = {}\n",
            "env.toml:5:10: error: `listen` must look like `127.0.0.1:PORT`, found `8080`\n\
             env.toml:6:10: error: `routes` must not be empty",
        ),
        (
            "[router.edge]\nimage = \"x\"\nlisten = \"127.0.0.1:${redis.q.port}\"\nroutes = { \"/a\" = \"http://a\" }\n[redis.q]\n",
            "env.toml:5:10: error: `listen` may only reference variables, found `${redis.q.port}`",
        ),
        (
            "[service.api]\nimage = \"x\"\nhealth = { interval = \"1 s\", timeout = \"5x\", retries = 0, every = \"1s\" }\n",
            "env.toml:5:23: error: `health.interval` must be a duration like `500ms`, `1s` or `2m`, found `1 s`\n\
             env.toml:5:40: error: `health.timeout` must be a duration like `500ms`, `1s` or `2m`, found `5x`\n\
             env.toml:5:56: error: `health.retries` must be between 1 and 100, found 0\n\
             env.toml:5:59: error: unknown key `every` in `health`",
        ),
        (
            "[service.api]\nimage = \"x\"\nhealth = \"yes\"\n",
            "env.toml:5:10: error: `health` must be a table or `false`, found a string",
        ),
        (
            "[secret.jwt]\nlength = 0\n[secret.big]\nlength = 4097\n",
            "env.toml:4:10: error: `length` must be between 1 and 4096, found 0\n\
             env.toml:6:10: error: `length` must be between 1 and 4096, found 4097",
        ),
        (
            "[service.api]\nimage = \"x\"\nenv = { A = \"x ${var\", B = 5000, C = \"${}\" }\n",
            "env.toml:5:16: error: unterminated reference: `${` without a closing `}`\n  \
             help: write `$${` for a literal `${`\n\
             env.toml:5:28: error: `env.B` must be a string, found an integer\n  help: put the value in quotes\n\
             env.toml:5:39: error: empty reference `${}`\n  \
             help: references look like `${var.NAME}` or `${kind.name.attribute}`",
        ),
        (
            "[output.url]\nvalue = \"${router.edge.url}\"\n[output.other]\nsensitive = \"no\"\n",
            "env.toml:4:10: error: unknown resource `router.edge`\n\
             env.toml:5:1: error: missing `value` in `output.other`\n\
             env.toml:6:13: error: `sensitive` must be a boolean, found a string",
        ),
        (
            "[service]\napi = \"x\"\n",
            "env.toml:4:7: error: `service.api` must be a table, found a string",
        ),
        (
            // After `[project]`, a key is the project's.
            "service = 1\n",
            "env.toml:3:1: error: unknown key `service` in `project`",
        ),
        (
            "[service.api\nimage = \"x\"\n",
            "env.toml:3:13: error: unclosed table, expected `]`",
        ),
    ];
    // Every case is checked before failing, so one run shows every difference.
    let mut failures = Vec::new();
    for (snippet, expected) in table {
        let source = format!("{PROJECT}{snippet}");
        let found = problems(&source);
        if found != *expected {
            failures.push(format!(
                "--- env.toml:\n{source}--- expected:\n{expected}\n--- found:\n{found}\n"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn project_problems() {
    let table: &[(&str, &str)] = &[
        (
            "[network.n]\n",
            "env.toml:1:1: error: missing `[project]` table",
        ),
        (
            "[project]\n",
            "env.toml:1:1: error: missing `name` in `project`",
        ),
        (
            "service = 1\n[project]\nname = \"yoyo\"\n",
            "env.toml:1:11: error: `service` must be a table, found an integer",
        ),
        (
            "project = \"yoyo\"\n",
            "env.toml:1:11: error: `project` must be a table, found a string",
        ),
        (
            "[project]\nname = \"yoyo_x\"\nnaem = 1\n",
            "env.toml:2:8: error: invalid project name `yoyo_x`\n  help: names must match `[a-z][a-z0-9-]*`\n\
             env.toml:3:1: error: unknown key `naem` in `project`\n  help: did you mean `name`?",
        ),
        (
            "[project]\nname = \"yoyo\"\nbackend = \"nomad\"\n",
            "env.toml:3:11: error: `project.backend` must be one of `docker`, `swarm`, found `nomad`",
        ),
        (
            "[project]\nname = \"yoyo\"\nbackend = 1\n",
            "env.toml:3:11: error: `project.backend` must be a string, found an integer\n  help: put the value in quotes",
        ),
        (
            "[project]\nname = \"yoyo\"\nregistry = \"10.0.0.1:5000\"\n",
            "env.toml:3:12: error: `registry` is for `backend = \"swarm\"`\n  \
             help: on one Docker daemon the images stay where they are built; remove `registry`",
        ),
        (
            "[project]\nname = \"yoyo\"\nbackend = \"swarm\"\nregistry = \"10.0.0.1\"\n",
            "env.toml:4:12: error: invalid registry `10.0.0.1`\n  \
             help: a registry is `HOST:PORT`, as image references start: `10.0.0.1:5000`",
        ),
    ];
    for (source, expected) in table {
        assert_eq!(problems(source), *expected, "\n--- env.toml:\n{source}");
    }
}

#[test]
fn on_swarm_a_secret_is_an_env_value_of_its_own() {
    let swarm = "[project]\nname = \"yoyo\"\nbackend = \"swarm\"\n[secret.jwt]\n";
    let source = format!(
        "{swarm}[service.api]\nimage = \"x\"\n\
         env = {{ JWT = \"${{secret.jwt.value}}\", DSN = \"db:${{secret.jwt.value}}@h\" }}\n\
         command = [\"--key=${{secret.jwt.value}}\"]\n"
    );
    assert_eq!(
        problems(&source),
        "env.toml:7:44: error: `env.DSN` holds `secret.jwt` with other text, which on swarm would put the secret in the service's spec\n  \
         help: swarm hands a secret to a service as a file: give it an env key of its own, `KEY = \"${secret.jwt.value}\"`, and the service reads it from the file `KEY_FILE` names\n\
         env.toml:8:11: error: `command` holds `secret.jwt` with other text, which on swarm would put the secret in the service's spec\n  \
         help: swarm hands a secret to a service as a file: give it an env key of its own, `KEY = \"${secret.jwt.value}\"`, and the service reads it from the file `KEY_FILE` names"
    );
    // The same on one daemon, where the secret is in the environment anyway.
    let docker = source.replace("backend = \"swarm\"", "backend = \"docker\"");
    assert!(load_with(&docker, &Overrides::new()).is_ok());
    let config = load_with(
        &format!(
            "{swarm}[service.api]\nimage = \"x\"\nenv = {{ JWT = \"${{secret.jwt.value}}\" }}\n"
        ),
        &Overrides::new(),
    )
    .unwrap();
    assert_eq!(config.target, crate::config::model::Target::Swarm);
}

#[test]
fn values_over_the_kernels_limit_and_keys_nested_too_deep_are_placed() {
    let big = format!(
        "{PROJECT}[service.api]\nimage = \"x\"\nenv = {{ BIG = \"{}\" }}\n",
        "x".repeat(140_000)
    );
    assert_eq!(
        problems(&big),
        "env.toml:5:15: error: `env.BIG` is 140000 bytes; a value given to a container may be \
         at most 131071 (the kernel's limit for one argument or variable)"
    );
    let parts: Vec<&str> = vec!["k"; 300];
    let deep = format!(
        "{PROJECT}[service.api]\nimage = \"x\"\nhealth.{} = 1\n",
        parts.join(".")
    );
    assert_eq!(
        problems(&deep),
        "env.toml:5:1: error: `health.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k...` nests 301 tables \
         deep; env.toml needs no more than 16"
    );
}

#[test]
fn several_problems_are_all_reported_in_file_order() {
    let source = "\
[project]
name = \"yoyo\"

[service.web]
image = \"x\"
replicas = 0
env = { URL = \"${service.nope.url}\" }

[servise.api]

[redis.queue]
netwrok = \"network.platform\"
";
    assert_eq!(
        problems(source),
        "env.toml:6:12: error: `replicas` must be between 1 and 100, found 0\n\
         env.toml:7:16: error: unknown resource `service.nope`\n\
         env.toml:9:2: error: unknown resource kind `servise`\n  help: did you mean `service`?\n\
         env.toml:12:1: error: unknown key `netwrok` in `redis.queue`\n  help: did you mean `network`?"
    );
}

#[test]
fn positions_count_characters_and_fall_back_for_escapes() {
    // `é` is two bytes but one column; a string with escapes points at its opening quote.
    let source = format!(
        "{PROJECT}[service.api]\nimage = \"x\"\nenv = {{ A = \"é ${{var.x}}\", B = \"\\t${{var.y}}\" }}\n"
    );
    assert_eq!(
        problems(&source),
        "env.toml:5:16: error: unknown variable `x`\n\
         env.toml:5:31: error: unknown variable `y`"
    );
}

fn address(text: &str) -> Address {
    Address::parse(text).unwrap()
}

/// The settings `name`'s kind read, as the type they are.
fn settings<'c, T: 'static>(config: &'c Config, name: &str) -> &'c T {
    let resource = config
        .resources
        .iter()
        .find(|resource| resource.address.name == name)
        .unwrap();
    let settings: &dyn std::any::Any = resource.settings.as_ref();
    settings
        .downcast_ref()
        .unwrap_or_else(|| panic!("the settings of {}", resource.address))
}

fn template(text: &str) -> Template {
    template::parse(text).unwrap()
}

#[test]
fn a_good_file_loads_to_the_model() {
    let source = "\
[project]
name = \"demo\"

[variable.port]
default = 8080
description = \"Host port\"

[variable.debug]
default = false

[variable.label]

[secret.jwt]

[network.net]

[service.api]
build = { context = \"services/api\", binary = \"api\" }
network = \"network.net\"
port = 5001
env = { JWT = \"${secret.jwt.value}\", LABEL = \"${var.label}\" }
files = { \"/etc/users.json\" = \"services/api/users.json\" }
ports = [\"127.0.0.1:5002:5001\", \"5003:5001\"]
command = [\"--verbose\", \"${var.debug}\"]
health = { interval = \"500ms\", start_period = \"2m\" }
depends_on = [\"secret.jwt\"]

[service.worker]
image = \"worker:1\"
replicas = 3
health = false

[router.edge]
build = \"services/router\"
network = \"network.net\"
listen = \"127.0.0.1:${var.port}\"
routes = { \"/api\" = \"${service.api.url}\" }

[output.url]
value = \"${router.edge.url}\"
";
    let mut overrides = Overrides::new();
    overrides.add_flag("label=blue").unwrap();
    let dir = fixture();
    let config = load_source(Path::new("env.toml"), source, dir.path(), &overrides)
        .unwrap_or_else(|problems| panic!("{problems}"));

    assert_eq!(config.project, "demo");
    assert_eq!(config.path, PathBuf::from("env.toml"));
    assert_eq!(config.root, dir.path());
    let values: BTreeMap<&str, &Value> = config
        .variables
        .iter()
        .map(|(name, variable)| (name.as_str(), &variable.value))
        .collect();
    assert_eq!(
        values,
        BTreeMap::from([
            ("debug", &Value::Boolean(false)),
            ("label", &Value::String("blue".to_owned())),
            ("port", &Value::Integer(8080)),
        ])
    );
    assert_eq!(
        config.variables["port"],
        Variable {
            value: Value::Integer(8080),
            default: Some(Value::Integer(8080)),
            description: Some("Host port".to_owned()),
            sensitive: false,
            location: Location { line: 4, column: 1 },
        }
    );

    let addresses: Vec<String> = config
        .resources
        .iter()
        .map(|r| r.address.to_string())
        .collect();
    assert_eq!(
        addresses,
        [
            "secret.jwt",
            "network.net",
            "service.api",
            "service.worker",
            "router.edge"
        ]
    );
    assert_eq!(settings::<SecretSettings>(&config, "jwt").length, 32);
    let api: &ServiceSettings = settings(&config, "api");
    assert_eq!(
        api.container,
        Container {
            image: Some(ImageSource::Build {
                context: PathBuf::from("services/api"),
                binary: Some("api".to_owned()),
            }),
            networks: vec![address("network.net")],
            env: BTreeMap::from([
                ("JWT".to_owned(), template("${secret.jwt.value}")),
                ("LABEL".to_owned(), template("${var.label}")),
            ]),
            files: BTreeMap::from([(
                "/etc/users.json".to_owned(),
                PathBuf::from("services/api/users.json")
            )]),
            ports: vec![
                PortMapping {
                    host: 5002,
                    container: 5001
                },
                PortMapping {
                    host: 5003,
                    container: 5001
                },
            ],
            volumes: BTreeMap::new(),
            command: Some(vec![template("--verbose"), template("${var.debug}")]),
            health: Some(Health {
                test: None,
                interval_ms: 500,
                timeout_ms: Health::DEFAULT.timeout_ms,
                retries: Health::DEFAULT.retries,
                start_period_ms: 120_000,
            }),
            restart: "unless-stopped".to_owned(),
            target: Target::Docker,
        }
    );
    assert_eq!((api.port, api.replicas), (5001, None));
    let api = &config.resources[2];
    assert_eq!(api.depends_on, [address("secret.jwt")]);
    assert_eq!(
        api.location,
        Location {
            line: 17,
            column: 1
        }
    );
    let worker: &ServiceSettings = settings(&config, "worker");
    assert_eq!(
        worker.container.image,
        Some(ImageSource::Image("worker:1".to_owned()))
    );
    assert_eq!(worker.replicas, Some(3));
    assert_eq!(worker.container.health, None);
    assert_eq!(worker.port, 5000);
    let edge: &RouterSettings = settings(&config, "edge");
    assert_eq!(
        edge.container.image,
        Some(ImageSource::Build {
            context: PathBuf::from("services/router"),
            binary: None,
        })
    );
    assert_eq!(edge.container.networks, [address("network.net")]);
    assert_eq!(edge.listen, template("127.0.0.1:${var.port}"));
    assert_eq!(
        edge.routes,
        BTreeMap::from([("/api".to_owned(), template("${service.api.url}"))])
    );
    assert_eq!(edge.container.health, Some(Health::DEFAULT));
    assert_eq!(config.outputs["url"].value, template("${router.edge.url}"));
    assert!(!config.outputs["url"].sensitive);
}

const ROUTER: &str = "\
[project]
name = \"yoyo\"

[variable.router_port]
default = 8080

[variable.flag]
default = true

[router.edge]
image = \"x\"
listen = \"127.0.0.1:${var.router_port}\"
routes = { \"/a\" = \"http://a\" }

[service.api]
image = \"x\"
ports = [\"9000:5000\"]
";

fn overridden(values: &[(&str, &str, Origin)]) -> Result<Config, String> {
    let mut overrides = Overrides::new();
    for (name, value, origin) in values {
        match origin {
            Origin::Flag => overrides.add_flag(&format!("{name}={value}")).unwrap(),
            Origin::Environment => {
                overrides.add_environment([(format!("YOYOFORM_VAR_{name}"), (*value).to_owned())])
            }
            Origin::DotEnv(_) | Origin::VarFile(_) => unreachable!("the cases give neither"),
        }
    }
    load_with(ROUTER, &overrides)
}

#[test]
fn variable_overrides_take_the_default_type() {
    let config = overridden(&[
        ("router_port", "9100", Origin::Flag),
        ("flag", "false", Origin::Environment),
    ])
    .unwrap();
    assert_eq!(config.variables["router_port"].value, Value::Integer(9100));
    assert_eq!(config.variables["flag"].value, Value::Boolean(false));
    // The default is kept as declared.
    assert_eq!(
        config.variables["router_port"].default,
        Some(Value::Integer(8080))
    );

    type Given<'a> = &'a [(&'a str, &'a str, Origin)];
    let table: &[(Given, &str)] = &[
        (
            &[("router_port", "abc", Origin::Flag)],
            "env.toml:4:1: error: `--var router_port=abc` sets variable `router_port` to `abc`, which is not an integer",
        ),
        (
            &[("router_port", "80.5", Origin::Environment)],
            "env.toml:4:1: error: `YOYOFORM_VAR_router_port` sets variable `router_port` to `80.5`, which is not an integer",
        ),
        (
            &[("flag", "yes", Origin::Flag)],
            "env.toml:7:1: error: `--var flag=yes` sets variable `flag` to `yes`, which is not a boolean (`true` or `false`)",
        ),
        (
            &[("router_prot", "1", Origin::Flag)],
            "env.toml: error: `--var router_prot=...` sets variable `router_prot`, which env.toml does not declare\n  \
             help: did you mean `router_port`?",
        ),
        // Host ports are checked after substitution.
        (
            &[("router_port", "9000", Origin::Flag)],
            "env.toml:17:10: error: host port 9000 is published by both `router.edge` and `service.api`",
        ),
        (
            &[("router_port", "0", Origin::Flag)],
            "env.toml:12:10: error: `listen` must be a port between 1 and 65535, found `0`",
        ),
    ];
    for (values, expected) in table {
        assert_eq!(overridden(values).unwrap_err(), *expected, "{values:?}");
    }
    // An environment variable for an undeclared variable is not an error.
    assert!(overridden(&[("unrelated", "1", Origin::Environment)]).is_ok());
}

#[test]
fn the_project_override_replaces_the_name_and_is_checked() {
    let mut overrides = Overrides::new();
    overrides.project = Some("test-1".to_owned());
    assert_eq!(load_with(ROUTER, &overrides).unwrap().project, "test-1");
    overrides.project = Some("Test_1".to_owned());
    assert_eq!(
        load_with(ROUTER, &overrides).unwrap_err(),
        "env.toml: error: invalid project name `Test_1`\n  help: names must match `[a-z][a-z0-9-]*`"
    );
}

#[test]
fn an_unreadable_file_is_one_problem() {
    let problems = load(Path::new("/nonexistent/env.toml"), &Overrides::new()).unwrap_err();
    assert_eq!(
        problems.to_string(),
        "/nonexistent/env.toml: error: cannot read `/nonexistent/env.toml`: No such file or directory (os error 2)"
    );
}

/// The repository's own env.toml declares the whole platform and is valid. Its build
/// contexts are real folders of this repository, so this checks them too.
#[test]
fn the_repository_env_toml_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../env.toml");
    let config = load(&path, &Overrides::new()).unwrap_or_else(|problems| panic!("{problems}"));
    assert_eq!(config.project, "yoyo");
    let addresses: Vec<String> = config
        .resources
        .iter()
        .map(|r| r.address.to_string())
        .collect();
    assert_eq!(
        addresses,
        [
            "secret.jwt",
            "network.platform",
            "redis.queue",
            "service.auth-api",
            "service.transaction-api",
            "service.loyalty-worker",
            "router.platform",
        ]
    );
    let graph = crate::graph::Graph::build(&config).expect("no cycle");
    let order: Vec<String> = graph.order().iter().map(ToString::to_string).collect();
    assert_eq!(
        order,
        [
            "network.platform",
            "redis.queue",
            "secret.jwt",
            "service.auth-api",
            "service.loyalty-worker",
            "service.transaction-api",
            "router.platform",
        ]
    );
    assert_eq!(config.variables["router_port"].value, Value::Integer(8080));
    assert_eq!(
        config.outputs["url"].value,
        template("${router.platform.url}")
    );
}
