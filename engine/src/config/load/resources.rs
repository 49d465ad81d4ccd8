//! Reading the resource tables: `[service.*]`, `[router.*]`, their builds, files, health
//! checks and ports.

use super::*;

impl Loader<'_> {
    pub(super) fn resources(&mut self, kind: Kind, node: &Node) -> Vec<Checked<Resource>> {
        self.named_tables(node, kind.as_str(), "resource")
            .into_iter()
            .map(|entry| {
                let (name, location, table) = entry?;
                let address = Address {
                    kind,
                    name: name.to_owned(),
                };
                self.resource(address, location, table)
            })
            .collect()
    }

    pub(super) fn resource(
        &mut self,
        address: Address,
        location: Location,
        table: &DeTable,
    ) -> Checked<Resource> {
        let table_name = address.to_string();
        let depends_on = self.optional(table, "depends_on", |loader, node, key| {
            let items = loader.array(node, key)?;
            let addresses: Vec<Checked<Address>> = items
                .iter()
                .map(|item| {
                    let text = loader.string(item, key)?;
                    loader.address(text, item.span(), key)
                })
                .collect();
            addresses.into_iter().collect()
        });
        let body = match address.kind {
            Kind::Network => {
                self.keys(table, &table_name, &["depends_on"]);
                Ok(Body::Network)
            }
            Kind::Redis => {
                self.keys(table, &table_name, &["network", "depends_on"]);
                self.network(table).map(|network| Body::Redis { network })
            }
            Kind::Secret => {
                self.keys(table, &table_name, &["length", "depends_on"]);
                self.optional(table, "length", |loader, node, key| {
                    loader.integer(node, key, 1, 4096)
                })
                .map(|length| Body::Secret {
                    length: length.map_or(DEFAULT_SECRET_LENGTH, |length| length as u32),
                })
            }
            Kind::Service => self.service(&address, location, table).map(Body::Service),
            Kind::Router => self.router(&address, location, table).map(Body::Router),
        };
        Ok(Resource {
            address,
            body: body?,
            depends_on: depends_on?.unwrap_or_default(),
            location,
        })
    }

    pub(super) fn service(
        &mut self,
        address: &Address,
        location: Location,
        table: &DeTable,
    ) -> Checked<Service> {
        let table_name = address.to_string();
        self.keys(
            table,
            &table_name,
            &[
                "build",
                "image",
                "network",
                "port",
                "env",
                "files",
                "ports",
                "replicas",
                "command",
                "health",
                "depends_on",
            ],
        );
        let image = self.image_source(table, location, &table_name);
        let network = self.network(table);
        let port = self.optional(table, "port", |loader, node, key| {
            loader.integer(node, key, 1, 65535).map(|port| port as u16)
        });
        let env = self.optional(table, "env", |loader, node, key| {
            loader.map(node, key, |loader, _, node, key| loader.template(node, key))
        });
        let files = self.optional(table, "files", |loader, node, key| {
            loader.map(node, key, Self::file)
        });
        let ports = self.optional(table, "ports", |loader, node, key| {
            let items = loader.array(node, key)?;
            let mappings: Vec<Checked<PortMapping>> = items
                .iter()
                .map(|item| loader.port_mapping(address, item))
                .collect();
            mappings.into_iter().collect()
        });
        let replicas = self.optional(table, "replicas", |loader, node, key| {
            loader.integer(node, key, 1, MAX_REPLICAS).map(|n| n as u32)
        });
        let command = self.optional(table, "command", |loader, node, key| {
            let items = loader.array(node, key)?;
            let templates: Vec<Checked<Template>> = items
                .iter()
                .map(|item| loader.template(item, key))
                .collect();
            templates.into_iter().collect()
        });
        let health = self.health(table);

        let ports: Vec<PortMapping> = ports?.unwrap_or_default();
        let replicas = replicas?;
        if let Some(count @ 2..) = replicas
            && !ports.is_empty()
        {
            let span = table.get("ports").map_or(0..0, |node| node.span());
            let problem = Problem::PortsWithReplicas {
                owner: table_name,
                replicas: count,
            };
            self.report(span, problem);
        }
        Ok(Service {
            image: image?,
            network: network?,
            port: port?.unwrap_or(DEFAULT_SERVICE_PORT),
            env: env?.unwrap_or_default(),
            files: files?.unwrap_or_default(),
            ports,
            replicas,
            command: command?,
            health: health?,
        })
    }

    pub(super) fn router(
        &mut self,
        address: &Address,
        location: Location,
        table: &DeTable,
    ) -> Checked<Router> {
        let table_name = address.to_string();
        self.keys(
            table,
            &table_name,
            &[
                "build",
                "image",
                "network",
                "listen",
                "routes",
                "health",
                "depends_on",
            ],
        );
        let image = self.image_source(table, location, &table_name);
        let network = self.network(table);
        let listen = self.required(
            table,
            location,
            &table_name,
            "listen",
            |loader, node, key| {
                let listen = loader.template(node, key)?;
                if let Some(text) = loader.substitute(&listen, node, key)? {
                    let port = loader.listen_port(&text, node.span())?;
                    let location = loader.location(node.span().start);
                    loader.host_ports.push((port, location, address.clone()));
                }
                Ok(listen)
            },
        );
        let routes = self.required(
            table,
            location,
            &table_name,
            "routes",
            |loader, node, key| {
                let routes = loader.map(node, key, |loader, route, node, key| {
                    if !is_route(route.get_ref()) {
                        let problem = Problem::BadRoute {
                            path: route.get_ref().to_string(),
                        };
                        return Err(loader.report(route.span(), problem));
                    }
                    loader.template(node, key)
                })?;
                if routes.is_empty() {
                    let problem = Problem::Empty {
                        key: key.to_owned(),
                    };
                    return Err(loader.report(node.span(), problem));
                }
                Ok(routes)
            },
        );
        let health = self.health(table);
        Ok(Router {
            image: image?,
            network: network?,
            listen: listen?,
            routes: routes?,
            health: health?,
        })
    }

    /// Exactly one of `build` and `image`.
    pub(super) fn image_source(
        &mut self,
        table: &DeTable,
        location: Location,
        table_name: &str,
    ) -> Checked<ImageSource> {
        match (table.get("build"), table.get("image")) {
            (Some(build), None) => self.build(build),
            (None, Some(image)) => {
                let name = self.string(image, "image")?;
                if name.is_empty() {
                    let problem = Problem::Empty {
                        key: "image".to_owned(),
                    };
                    return Err(self.report(image.span(), problem));
                }
                Ok(ImageSource::Image(name.to_owned()))
            }
            (None, None) => Err(self.report_at(
                location,
                Problem::NoImageSource {
                    table: table_name.to_owned(),
                },
            )),
            (Some(build), Some(image)) => {
                let second = build.span().start.max(image.span().start);
                Err(self.report(
                    second..second,
                    Problem::BothImageSources {
                        table: table_name.to_owned(),
                    },
                ))
            }
        }
    }

    /// `build = "dir"` or `build = { context = "dir", binary = "name" }`.
    pub(super) fn build(&mut self, node: &Node) -> Checked<ImageSource> {
        let (context_node, binary) = match node.get_ref() {
            DeValue::String(_) => (node, Ok(None)),
            DeValue::Table(table) => {
                self.keys(table, "build", &["context", "binary"]);
                let binary = self.optional(table, "binary", |loader, node, key| {
                    let name = loader.string(node, key)?;
                    if name.is_empty() {
                        let key = key.to_owned();
                        return Err(loader.report(node.span(), Problem::Empty { key }));
                    }
                    Ok(name.to_owned())
                });
                let Some(context) = table.get("context") else {
                    let problem = Problem::MissingKey {
                        key: "context".to_owned(),
                        table: "build".to_owned(),
                    };
                    return Err(self.report(node.span(), problem));
                };
                (context, binary)
            }
            other => {
                return Err(self.wrong_type(node.span(), "build", "a string or a table", other));
            }
        };
        let context = self.string(context_node, "build.context")?;
        let folder = self.root.join(context);
        if !folder.is_dir() {
            let problem = Problem::MissingContext {
                path: context.to_owned(),
            };
            return Err(self.report(context_node.span(), problem));
        }
        if !folder.join("Dockerfile").is_file() {
            let problem = Problem::NoDockerfile {
                path: context.to_owned(),
            };
            return Err(self.report(context_node.span(), problem));
        }
        Ok(ImageSource::Build {
            context: PathBuf::from(context),
            binary: binary?,
        })
    }

    /// `network = "network.NAME"`.
    pub(super) fn network(&mut self, table: &DeTable) -> Checked<Option<Address>> {
        self.optional(table, "network", |loader, node, key| {
            let text = loader.string(node, key)?;
            let address = loader.address(text, node.span(), key)?;
            if address.kind != Kind::Network {
                let problem = Problem::NotANetwork {
                    address: address.to_string(),
                    kind: address.kind.as_str(),
                };
                return Err(loader.report(node.span(), problem));
            }
            Ok(address)
        })
    }

    /// A bare address, `kind.name`, that must be declared.
    pub(super) fn address(
        &mut self,
        text: &str,
        span: Range<usize>,
        key: &str,
    ) -> Checked<Address> {
        let Some((kind, name)) = text.split_once('.') else {
            let problem = Problem::NotAnAddress {
                key: key.to_owned(),
                example: if key == "network" {
                    "network.NAME"
                } else {
                    "service.NAME"
                },
                found: text.to_owned(),
            };
            return Err(self.report(span, problem));
        };
        let address = Kind::parse(kind).map(|kind| Address {
            kind,
            name: name.to_owned(),
        });
        match address {
            Some(address) if self.declared.resources.contains(&address) => Ok(address),
            _ => {
                let problem = self.unknown_resource(text);
                Err(self.report(span, problem))
            }
        }
    }

    pub(super) fn unknown_resource(&self, address: &str) -> Problem {
        let declared: Vec<String> = self
            .declared
            .resources
            .iter()
            .map(ToString::to_string)
            .collect();
        Problem::UnknownResource {
            address: address.to_owned(),
            suggestion: did_you_mean(address, declared.iter().map(String::as_str)),
        }
    }

    /// One `files` entry: an absolute container path = a local file.
    pub(super) fn file(&mut self, target: &Key, node: &Node, key: &str) -> Checked<PathBuf> {
        let source = self.string(node, key);
        if !target.get_ref().starts_with('/') {
            let problem = Problem::RelativeTarget {
                path: target.get_ref().to_string(),
            };
            self.report(target.span(), problem);
            return Err(Reported);
        }
        let source = source?;
        if !self.root.join(source).is_file() {
            let problem = Problem::MissingFile {
                path: source.to_owned(),
            };
            return Err(self.report(node.span(), problem));
        }
        Ok(PathBuf::from(source))
    }

    /// `health = false`, `health = true` (the image's own check) or a table of timings.
    pub(super) fn health(&mut self, table: &DeTable) -> Checked<Option<Option<Health>>> {
        let Some(node) = table.get("health") else {
            return Ok(None);
        };
        match node.get_ref() {
            DeValue::Boolean(false) => Ok(Some(None)),
            DeValue::Boolean(true) => Ok(None),
            DeValue::Table(timings) => {
                self.keys(
                    timings,
                    "health",
                    &["interval", "timeout", "retries", "start_period"],
                );
                let duration = |loader: &mut Self, key: &str| {
                    loader.optional(timings, key, |loader, node, key| {
                        let text = loader.string(node, &format!("health.{key}"))?;
                        parse_duration(text).ok_or_else(|| {
                            let problem = Problem::BadDuration {
                                key: format!("health.{key}"),
                                found: text.to_owned(),
                            };
                            loader.report(node.span(), problem)
                        })
                    })
                };
                let interval = duration(self, "interval");
                let timeout = duration(self, "timeout");
                let start_period = duration(self, "start_period");
                let retries = self.optional(timings, "retries", |loader, node, _| {
                    loader
                        .integer(node, "health.retries", 1, 100)
                        .map(|n| n as u32)
                });
                let default = Health::DEFAULT;
                Ok(Some(Some(Health {
                    interval_ms: interval?.unwrap_or(default.interval_ms),
                    timeout_ms: timeout?.unwrap_or(default.timeout_ms),
                    retries: retries?.unwrap_or(default.retries),
                    start_period_ms: start_period?.unwrap_or(default.start_period_ms),
                })))
            }
            other => Err(self.wrong_type(node.span(), "health", "a table or `false`", other)),
        }
    }

    // ----- ports -----

    /// One `ports` entry, `127.0.0.1:HOST:CONTAINER` or `HOST:CONTAINER`, after variables.
    pub(super) fn port_mapping(&mut self, owner: &Address, node: &Node) -> Checked<PortMapping> {
        let template = self.template(node, "ports")?;
        // A value that cannot be known (an unset variable) was reported already.
        let text = self.substitute(&template, node, "ports")?.ok_or(Reported)?;
        let span = node.span();
        let fields: Vec<&str> = text.split(':').collect();
        let (host, container) = match fields.as_slice() {
            [host, container] => (*host, *container),
            [address, host, container] if *address == LOOPBACK => (*host, *container),
            [address, _, _] => {
                let problem = Problem::NotLoopback {
                    key: "ports".to_owned(),
                    address: (*address).to_owned(),
                };
                return Err(self.report(span, problem));
            }
            _ => {
                let problem = Problem::BadPortMapping {
                    found: text.clone(),
                };
                return Err(self.report(span, problem));
            }
        };
        let host = self.port_number(host, "ports", span.clone());
        let container = self.port_number(container, "ports", span.clone());
        let mapping = PortMapping {
            host: host?,
            container: container?,
        };
        let location = self.location(span.start);
        self.host_ports
            .push((mapping.host, location, owner.clone()));
        Ok(mapping)
    }

    /// The port of a router's `listen`, which must be `127.0.0.1:PORT`.
    pub(super) fn listen_port(&mut self, text: &str, span: Range<usize>) -> Checked<u16> {
        match text.rsplit_once(':') {
            Some((LOOPBACK, port)) => self.port_number(port, "listen", span),
            Some((address, port)) if !address.is_empty() && port.parse::<u16>().is_ok() => {
                let problem = Problem::NotLoopback {
                    key: "listen".to_owned(),
                    address: address.to_owned(),
                };
                Err(self.report(span, problem))
            }
            _ => Err(self.report(
                span,
                Problem::BadListen {
                    found: text.to_owned(),
                },
            )),
        }
    }

    pub(super) fn port_number(
        &mut self,
        text: &str,
        key: &str,
        span: Range<usize>,
    ) -> Checked<u16> {
        match text.parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(self.report(
                span,
                Problem::BadPort {
                    key: key.to_owned(),
                    found: text.to_owned(),
                },
            )),
        }
    }
}

/// `/segment` or `/segment/more`: what the router matches requests' paths against.
pub(super) fn is_route(path: &str) -> bool {
    path.strip_prefix('/').is_some_and(|rest| {
        rest.split('/').all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        })
    })
}

/// `500ms`, `1s`, `2m`, `1h` → milliseconds.
pub(super) fn parse_duration(text: &str) -> Option<u64> {
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    number.checked_mul(scale)
}
