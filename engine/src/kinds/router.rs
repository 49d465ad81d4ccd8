//! `[router.NAME]`: the Yoyo router in front of the services, a preset over the container
//! kinds. What is special about it lives here: its `listen` becomes a published port and
//! its `routes` the router binary's `ROUTES` (one route a line, so a plan diffs them line
//! by line) and `HTTP_PORT`, all in the attributes the plan shows.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::container::docker::DockerContainer;
use super::container::hooks::Plain;
use super::container::swarm::SwarmService;
use super::container::{self, Container, keys};
use crate::attributes::{Attributes, Resolved};
use crate::backend::docker::DockerHost;
use crate::backend::swarm::SwarmHost;
use crate::config::diagnostic::Problem;
use crate::config::model::{Address, PortMapping, Target, Template};
use crate::config::{Checked, Reported, Table, required};
use crate::error::Error;
use crate::kind::{Attribute, Decision, Diff, Driver, Key, Kind, Schema, Settings, Type};
use crate::plan::Instance;
use crate::resolve::Context;

/// The port the router listens on inside its container.
pub const ROUTER_PORT: u16 = 5000;

/// The `router` kind.
pub struct Router;

static SCHEMA: Schema = Schema {
    keys: &[
        keys::BUILD,
        keys::IMAGE,
        keys::NETWORK,
        keys::NETWORKS,
        Key::required("listen", Type::String),
        Key::required("routes", Type::Table),
        keys::HEALTH,
        keys::RESTART,
    ],
    attributes: &[Attribute::exported("url"), Attribute::computed("id")],
    object: "container",
};

/// A router as env.toml declares it.
#[derive(Debug)]
pub struct RouterSettings {
    /// How its container is made.
    pub container: Container,
    /// `127.0.0.1:PORT` (may reference variables).
    pub listen: Template,
    /// Path prefix → upstream URL (normally `${service.X.url}`).
    pub routes: BTreeMap<String, Template>,
}

impl Kind for Router {
    fn name(&self) -> &'static str {
        "router"
    }

    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn load(&self, table: &mut Table<'_, '_>) -> Checked<Box<dyn Settings>> {
        let container = Container::read(table, "unless-stopped");
        let listen = required(table.listen("listen"));
        let routes = required(table.template_map("routes", route_problem));
        let routes = match routes {
            Ok(routes) if routes.is_empty() => {
                let problem = Problem::Empty {
                    key: "routes".to_owned(),
                };
                Err(table.report("routes", problem))
            }
            Ok(routes) => check_upstreams(table, routes),
            routes => routes,
        };
        Ok(Box::new(RouterSettings {
            container: container?,
            listen: listen?,
            routes: routes?,
        }))
    }

    fn decide(&self, diff: &Diff<'_>) -> Decision {
        container::decide(diff, true)
    }

    fn claims(&self, attributes: &Attributes, target: Target) -> Vec<String> {
        container::claims(attributes, target)
    }

    fn object(&self, target: Target) -> &'static str {
        container::object(target)
    }

    fn on_docker(&self, host: &Arc<DockerHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(DockerContainer::new(host, Plain)))
    }

    fn on_swarm(&self, swarm: &Arc<SwarmHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(SwarmService::new(swarm, Plain)))
    }
}

impl Settings for RouterSettings {
    fn templates(&self) -> Vec<&Template> {
        let mut templates = self.container.templates();
        templates.push(&self.listen);
        templates.extend(self.routes.values());
        templates
    }

    fn references(&self) -> Vec<&Address> {
        self.container.references()
    }

    fn export(&self, cx: &Context<'_>, _address: &Address, attribute: &str) -> Resolved {
        match attribute {
            "url" => {
                let listen = cx.template(&self.listen);
                Resolved {
                    text: listen.text.map(|listen| format!("http://{listen}")),
                    sensitive: listen.sensitive,
                }
            }
            other => unreachable!("`router` exports no `{other}`"),
        }
    }

    fn desired(&self, cx: &Context<'_>, instance: &Instance) -> Result<Attributes, Error> {
        let image = self.container.image(cx, &instance.resource)?;
        let target = self.container.target;
        self.container
            .desired(cx, instance, image, true, |attributes| {
                // The router binary's contract: `ROUTES=/prefix=url` entries and `HTTP_PORT`.
                let mut routes = Resolved::known("");
                for (prefix, upstream) in &self.routes {
                    let upstream = cx.template(upstream);
                    routes.sensitive |= upstream.sensitive;
                    routes.text = match (routes.text, upstream.text) {
                        (Some(so_far), Some(url)) => Some(format!("{so_far}{prefix}={url}\n")),
                        _ => None,
                    };
                }
                attributes.resolved_entry("env", "ROUTES", routes);
                attributes.resolved_entry(
                    "env",
                    "HTTP_PORT",
                    Resolved::known(ROUTER_PORT.to_string()),
                );
                // Only variables go into `listen` (the loader checks it), so it is known now.
                let listen = cx.template(&self.listen).text.unwrap_or_default();
                let port = listen
                    .rsplit_once(':')
                    .map(|(_, port)| port)
                    .ok_or_else(|| Error::Bug(format!("router listen `{listen}` has no port")))?;
                let port = port
                    .parse()
                    .map_err(|_| Error::Bug(format!("router listen `{listen}` has no port")))?;
                let mapping = PortMapping {
                    host: port,
                    container: ROUTER_PORT,
                };
                attributes.list("ports", vec![container::port_text(&mapping, target)]);
                Ok(())
            })
    }
}

/// The upstreams of every route that can be known before anything is resolved must be
/// what the router takes: `http://HOST[:PORT]`, several separated by `|`. (A reference
/// like `${service.api.url}` is such a URL by construction.)
fn check_upstreams(
    table: &mut Table<'_, '_>,
    routes: BTreeMap<String, Template>,
) -> Checked<BTreeMap<String, Template>> {
    let mut ok = true;
    for (prefix, upstream) in &routes {
        let Some(text) = table.literal(upstream) else {
            continue;
        };
        if !text.split('|').all(is_upstream) {
            let problem = Problem::BadUpstream {
                route: prefix.clone(),
                found: text,
            };
            table.report_entry("routes", prefix, problem);
            ok = false;
        }
    }
    if ok { Ok(routes) } else { Err(Reported) }
}

/// `http://HOST` or `http://HOST:PORT`, a trailing `/` allowed: what the router's
/// `ROUTES` takes as an upstream.
fn is_upstream(text: &str) -> bool {
    let Some(authority) = text.strip_prefix("http://") else {
        return false;
    };
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._[]:".contains(c));
    let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|port| port > 0));
    host_ok && port_ok
}

/// A `routes` key must be `/segment` or `/segment/more`: what the router matches
/// requests' paths against (no `.` or `..` segment, which a request path never has
/// once it is normalised).
fn route_problem(path: &str) -> Option<Problem> {
    let good = path.strip_prefix('/').is_some_and(|rest| {
        rest.split('/').all(|segment| {
            !matches!(segment, "" | "." | "..")
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        })
    });
    (!good).then(|| Problem::BadRoute {
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_upstreams() {
        for (path, good) in [
            ("/api", true),
            ("/api/v1", true),
            ("/a.b~c", true),
            ("api", false),
            ("/", false),
            ("/a//b", false),
            ("/a/..", false),
            ("/./a", false),
            ("/a b", false),
        ] {
            assert_eq!(route_problem(path).is_none(), good, "{path}");
        }
        for (upstream, good) in [
            ("http://auth-api:5000", true),
            ("http://auth-api", true),
            ("http://auth-api:5000/", true),
            ("http://127.0.0.1:9", true),
            ("http://[::1]:5002", true),
            ("auth-api:5000", false),
            ("https://auth-api", false),
            ("http://", false),
            ("http://a:0", false),
            ("http://a:70000", false),
            ("http://a:5000/path", false),
            ("http://user@a", false),
        ] {
            assert_eq!(is_upstream(upstream), good, "{upstream}");
        }
    }
}
