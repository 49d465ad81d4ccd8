//! The reader a kind is given for its table. Before the kind sees it, the table is checked
//! against the kind's [`Key`](kind::Key)s: unknown keys (with "did you mean"), values of the wrong
//! TOML type, missing required keys. The reader then shows the schema's keys only, each
//! read with the checks its value needs (references declared, files present, host ports
//! on loopback and taken once), every problem recorded with its place.

use super::*;
use crate::kind;

/// One table of env.toml, as a kind reads it: a resource's table, or a table inside one
/// (`health = { ... }`).
pub struct Table<'a, 's> {
    loader: &'a mut Loader<'s>,
    table: &'a DeTable<'s>,
    address: &'a Address,
    keys: &'static [kind::Key],
    /// Keys present with the wrong type: reported already, read as absent.
    rejected: BTreeSet<&'static str>,
    /// Where the table starts.
    location: Location,
    /// What value messages put before a key: `health.` inside `health = { ... }`.
    prefix: String,
}

/// The value of a required key: absent means it was reported missing already.
pub fn required<T>(value: Checked<Option<T>>) -> Checked<T> {
    value?.ok_or(Reported)
}

impl<'a, 's> Table<'a, 's> {
    /// A resource's table: `depends_on` aside (the core reads it), the kind's keys.
    pub(super) fn resource(
        loader: &'a mut Loader<'s>,
        table: &'a DeTable<'s>,
        address: &'a Address,
        keys: &'static [kind::Key],
        location: Location,
    ) -> Self {
        Table::checked(
            loader,
            table,
            address,
            keys,
            location,
            &address.to_string(),
            String::new(),
            &["depends_on"],
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn checked(
        loader: &'a mut Loader<'s>,
        table: &'a DeTable<'s>,
        address: &'a Address,
        keys: &'static [kind::Key],
        location: Location,
        name: &str,
        prefix: String,
        also: &[&str],
    ) -> Self {
        let allowed: Vec<&str> = keys
            .iter()
            .map(|key| key.name)
            .chain(also.iter().copied())
            .collect();
        loader.keys(table, name, &allowed);
        let mut rejected = BTreeSet::new();
        for key in keys {
            match table.get(key.name) {
                Some(node) if !key.ty.accepts(node.get_ref()) => {
                    let written = format!("{prefix}{}", key.name);
                    loader.wrong_type(node.span(), &written, key.ty.expected(), node.get_ref());
                    rejected.insert(key.name);
                }
                Some(_) => {}
                None if key.required => {
                    let problem = Problem::MissingKey {
                        key: key.name.to_owned(),
                        table: name.to_owned(),
                    };
                    loader.report_at(location, problem);
                }
                None => {}
            }
        }
        Table {
            loader,
            table,
            address,
            keys,
            rejected,
            location,
            prefix,
        }
    }

    /// The resource the table declares.
    pub fn address(&self) -> &Address {
        self.address
    }

    /// The backend the project's resources are made on (`[project] backend`).
    pub fn target(&self) -> Target {
        self.loader.target
    }

    /// Where the table starts.
    pub fn location(&self) -> Location {
        self.location
    }

    /// The node of a schema key that is present and of its type.
    fn node(&self, key: &str) -> Option<&'a Node<'s>> {
        let listed = self.keys.iter().any(|known| known.name == key);
        if !listed || self.rejected.contains(key) {
            return None;
        }
        self.table.get(key)
    }

    /// `health.interval` for `interval` inside `health`.
    fn path(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Whether the table's kind takes the key.
    pub fn takes(&self, key: &str) -> bool {
        self.keys.iter().any(|known| known.name == key)
    }

    /// Whether the key is present with the wrong type (reported already; it reads as
    /// absent).
    pub fn rejected(&self, key: &str) -> bool {
        self.rejected.contains(key)
    }

    /// Whether the key is present (of its type).
    pub fn has(&self, key: &str) -> bool {
        self.node(key).is_some()
    }

    /// Whether the key holds a table (the long form of a string-or-table key).
    pub fn is_table(&self, key: &str) -> bool {
        self.node(key)
            .is_some_and(|node| matches!(node.get_ref(), DeValue::Table(_)))
    }

    /// Whether the key holds `false`.
    pub fn is_false(&self, key: &str) -> bool {
        self.node(key)
            .is_some_and(|node| matches!(node.get_ref(), DeValue::Boolean(false)))
    }

    /// Records a problem at the key's value, or at the table when the key is absent.
    pub fn report(&mut self, key: &str, problem: Problem) -> Reported {
        match self.table.get(key) {
            Some(node) => self.loader.report(node.span(), problem),
            None => self.loader.report_at(self.location, problem),
        }
    }

    /// Records a problem at the later of two keys' values (the one that conflicts).
    pub fn report_second(&mut self, first: &str, second: &str, problem: Problem) -> Reported {
        let start = |key: &str| self.table.get(key).map_or(0, |node| node.span().start);
        let at = start(first).max(start(second));
        self.loader.report(at..at, problem)
    }

    /// Records a problem at the value of one entry of a table-valued key
    /// (`routes."/api"`).
    pub fn report_entry(&mut self, key: &str, entry: &str, problem: Problem) -> Reported {
        let node = self.table.get(key).and_then(|node| match node.get_ref() {
            DeValue::Table(entries) => entries.get(entry),
            _ => None,
        });
        match node {
            Some(node) => self.loader.report(node.span(), problem),
            None => self.report(key, problem),
        }
    }

    /// The text of a template when it holds no reference but to variables: what can be
    /// checked before anything is resolved.
    pub fn literal(&self, template: &Template) -> Option<String> {
        self.loader.literal(template)
    }

    /// Records a problem at the table.
    pub fn report_here(&mut self, problem: Problem) -> Reported {
        self.loader.report_at(self.location, problem)
    }

    /// A table inside this one, read against its own keys.
    pub fn nested(&mut self, key: &str, keys: &'static [kind::Key]) -> Option<Table<'_, 's>> {
        let node = self.node(key)?;
        let DeValue::Table(inner) = node.get_ref() else {
            return None;
        };
        let location = self.loader.location(node.span().start);
        let name = self.path(key);
        let prefix = format!("{name}.");
        Some(Table::checked(
            self.loader,
            inner,
            self.address,
            keys,
            location,
            &name,
            prefix,
            &[],
        ))
    }

    /// A string.
    pub fn string(&mut self, key: &str) -> Checked<Option<String>> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        self.loader
            .string(node, &path)
            .map(|text| Some(text.to_owned()))
    }

    /// A string that must not be empty.
    pub fn non_empty(&mut self, key: &str) -> Checked<Option<String>> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        if text.is_empty() {
            let key = self.path(key);
            return Err(self.report(&key, Problem::Empty { key: key.clone() }));
        }
        Ok(Some(text))
    }

    /// One of a few words.
    pub fn choice(
        &mut self,
        key: &str,
        choices: &'static [&'static str],
    ) -> Checked<Option<String>> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        if !choices.contains(&text.as_str()) {
            let problem = Problem::BadChoice {
                key: self.path(key),
                choices,
                found: text,
            };
            return Err(self.report(key, problem));
        }
        Ok(Some(text))
    }

    /// A string that may hold references.
    pub fn template(&mut self, key: &str) -> Checked<Option<Template>> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        self.loader.template(node, &path).map(Some)
    }

    /// An array of strings that may hold references.
    pub fn templates(&mut self, key: &str) -> Checked<Option<Vec<Template>>> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        let items = self.loader.array(node, &path)?;
        let templates: Vec<Checked<Template>> = items
            .iter()
            .map(|item| self.loader.template(item, &path))
            .collect();
        templates.into_iter().collect::<Checked<Vec<_>>>().map(Some)
    }

    /// A non-empty array of plain strings.
    pub fn strings(&mut self, key: &str) -> Checked<Option<Vec<String>>> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        let items = self.loader.array(node, &path)?;
        if items.is_empty() {
            let problem = Problem::Empty { key: path };
            return Err(self.loader.report(node.span(), problem));
        }
        let strings: Vec<Checked<String>> = items
            .iter()
            .map(|item| self.loader.string(item, &path).map(str::to_owned))
            .collect();
        strings.into_iter().collect::<Checked<Vec<_>>>().map(Some)
    }

    /// A table of names to strings that may hold references; `check_key` says what is
    /// wrong with a name, if anything.
    pub fn template_map(
        &mut self,
        key: &str,
        check_key: impl Fn(&str) -> Option<Problem>,
    ) -> Checked<Option<BTreeMap<String, Template>>> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        self.loader
            .map(node, &path, |loader, name, node, key| {
                if let Some(problem) = check_key(name.get_ref()) {
                    return Err(loader.report(name.span(), problem));
                }
                loader.template(node, key)
            })
            .map(Some)
    }

    /// An integer in `min..=max`.
    pub fn integer(&mut self, key: &str, min: i64, max: i64) -> Checked<Option<i64>> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        self.loader.integer(node, &path, min, max).map(Some)
    }

    /// A boolean.
    pub fn boolean(&mut self, key: &str) -> Checked<Option<bool>> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        self.loader.boolean(node, &path).map(Some)
    }

    /// A duration (`500ms`, `1s`, `2m`, `1h`), in milliseconds.
    pub fn duration(&mut self, key: &str) -> Checked<Option<u64>> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        match duration::parse(&text) {
            Some(millis) => Ok(Some(millis)),
            None => {
                let problem = Problem::BadDuration {
                    key: self.path(key),
                    found: text,
                };
                Err(self.report(key, problem))
            }
        }
    }

    /// A bare address of a declared resource of `kind`: `network = "network.platform"`.
    pub fn reference(&mut self, key: &str, kind: &'static str) -> Checked<Option<Address>> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        self.loader.reference(node, &path, Some(kind)).map(Some)
    }

    /// An array of bare addresses of declared resources, of `kind` when given.
    pub fn references(
        &mut self,
        key: &str,
        kind: Option<&'static str>,
    ) -> Checked<Option<Vec<Address>>> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        self.loader.references(node, &path, kind).map(Some)
    }

    /// A table of absolute container paths to bare addresses of `kind`:
    /// `volumes = { "/data" = "volume.data" }`.
    pub fn mounts(
        &mut self,
        key: &str,
        kind: &'static str,
    ) -> Checked<Option<BTreeMap<String, Address>>> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        self.loader
            .map(node, &path, |loader, target, node, _| {
                let address = loader.reference(node, &path, Some(kind));
                loader.container_path(&path, target)?;
                address
            })
            .map(Some)
    }

    /// `files`: absolute container paths to local files (relative to env.toml's folder).
    pub fn files(&mut self, key: &str) -> Checked<Option<BTreeMap<String, PathBuf>>> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        self.loader.map(node, &path, Loader::file).map(Some)
    }

    /// A folder of this repository holding a Dockerfile: a build context.
    pub fn build_context(&mut self, key: &str) -> Checked<Option<PathBuf>> {
        let Some(context) = self.string(key)? else {
            return Ok(None);
        };
        let folder = self.loader.root.join(&context);
        let tree = &self.loader.tree;
        let problem = if tree.entry(&folder) != Some(Entry::Folder) {
            Problem::MissingContext { path: context }
        } else if !matches!(
            tree.entry(&folder.join("Dockerfile")),
            Some(Entry::File { .. })
        ) {
            Problem::NoDockerfile { path: context }
        } else {
            return Ok(Some(PathBuf::from(context)));
        };
        Err(self.report(key, problem))
    }

    /// `ports`: `127.0.0.1:HOST:CONTAINER` or `HOST:CONTAINER` entries, variables allowed;
    /// each host port is taken by this resource.
    pub fn ports(&mut self, key: &str) -> Checked<Option<Vec<PortMapping>>> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        let items = self.loader.array(node, &path)?;
        let mappings: Vec<Checked<PortMapping>> = items
            .iter()
            .map(|item| self.loader.port_mapping(self.address, item))
            .collect();
        mappings.into_iter().collect::<Checked<Vec<_>>>().map(Some)
    }

    /// `127.0.0.1:PORT`, variables allowed: the host port is taken by this resource.
    pub fn listen(&mut self, key: &str) -> Checked<Option<Template>> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        let listen = self.loader.template(node, &path)?;
        if let Some(text) = self.loader.substitute(&listen, node, &path)? {
            let port = self.loader.listen_port(&text, node.span())?;
            let location = self.loader.location(node.span().start);
            self.loader
                .host_ports
                .push((port, location, self.address.clone()));
        }
        Ok(Some(listen))
    }
}

impl Loader<'_> {
    /// `depends_on = [...]`: any declared resource.
    pub(super) fn depends_on(&mut self, table: &DeTable) -> Checked<Vec<Address>> {
        match table.get("depends_on") {
            None => Ok(Vec::new()),
            Some(node) => self.references(node, "depends_on", None),
        }
    }

    fn references(
        &mut self,
        node: &Node,
        key: &str,
        kind: Option<&'static str>,
    ) -> Checked<Vec<Address>> {
        let items = self.array(node, key)?;
        let addresses: Vec<Checked<Address>> = items
            .iter()
            .map(|item| self.reference(item, key, kind))
            .collect();
        addresses.into_iter().collect()
    }

    /// A bare address, `kind.name`, that must be declared (and of `kind`, when given).
    fn reference(
        &mut self,
        node: &Node,
        key: &str,
        kind: Option<&'static str>,
    ) -> Checked<Address> {
        let text = self.string(node, key)?;
        let span = node.span();
        let Some((written_kind, name)) = text.split_once('.') else {
            let problem = Problem::NotAnAddress {
                key: key.to_owned(),
                example: format!("{}.NAME", kind.unwrap_or("kind")),
                found: text.to_owned(),
            };
            return Err(self.report(span, problem));
        };
        let address = Address::new(written_kind, name);
        let address = match address {
            Some(address) if self.declared.resources.contains(&address) => address,
            _ => {
                let problem = self.unknown_resource(text);
                return Err(self.report(span, problem));
            }
        };
        match kind {
            Some(kind) if address.kind != kind => {
                let problem = Problem::WrongKind {
                    key: key.to_owned(),
                    expected: kind,
                    address: address.to_string(),
                    kind: address.kind,
                };
                Err(self.report(span, problem))
            }
            _ => Ok(address),
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

    /// A container path, a key of `files` (a file) or `volumes` (a folder): absolute,
    /// plain (Docker would resolve `..` somewhere else than it reads), not the root.
    fn container_path(&mut self, key: &str, target: &Key) -> Checked<()> {
        let path: &str = target.get_ref();
        let parts: Vec<&str> = path.split('/').skip(1).collect();
        let why = if !path.starts_with('/') {
            "must be an absolute path in the container"
        } else if path == "/" || path.ends_with('/') {
            "must not be `/` or end in `/`"
        } else if parts.iter().any(|part| matches!(*part, "" | "." | "..")) {
            "must not hold `.`, `..` or `//`"
        } else {
            return Ok(());
        };
        let problem = Problem::BadTarget {
            key: key.to_owned(),
            path: path.to_owned(),
            why,
        };
        Err(self.report(target.span(), problem))
    }

    /// One `files` entry: an absolute container path = a local file.
    fn file(&mut self, target: &Key, node: &Node, key: &str) -> Checked<PathBuf> {
        let source = self.string(node, key);
        self.container_path("files", target)?;
        let source = source?;
        if !matches!(
            self.tree.entry(&self.root.join(source)),
            Some(Entry::File { .. })
        ) {
            let problem = Problem::MissingFile {
                path: source.to_owned(),
            };
            return Err(self.report(node.span(), problem));
        }
        Ok(PathBuf::from(source))
    }

    /// One `ports` entry, `127.0.0.1:HOST:CONTAINER` or `HOST:CONTAINER`, after variables.
    fn port_mapping(&mut self, owner: &Address, node: &Node) -> Checked<PortMapping> {
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

    /// The port of a `listen`, which must be `127.0.0.1:PORT`.
    fn listen_port(&mut self, text: &str, span: Range<usize>) -> Checked<u16> {
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

    fn port_number(&mut self, text: &str, key: &str, span: Range<usize>) -> Checked<u16> {
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

#[cfg(test)]
mod tests {
    use crate::kind::Type;
    use toml::de::{DeTable, DeValue};

    #[test]
    fn types_accept_their_values() {
        let document = DeTable::parse("s = \"x\"\ni = 1\nb = false\nt = {}\na = []\n")
            .unwrap()
            .into_inner();
        let value = |key: &str| -> DeValue { document.get(key).unwrap().get_ref().clone() };
        let table = [
            (Type::String, "s", true),
            (Type::String, "i", false),
            (Type::Integer, "i", true),
            (Type::Boolean, "b", true),
            (Type::Table, "t", true),
            (Type::Array, "a", true),
            (Type::StringOrTable, "s", true),
            (Type::StringOrTable, "t", true),
            (Type::StringOrTable, "a", false),
            (Type::TableOrFalse, "b", true),
            (Type::TableOrFalse, "t", true),
            (Type::TableOrFalse, "s", false),
        ];
        for (ty, key, accepted) in table {
            assert_eq!(ty.accepts(&value(key)), accepted, "{ty:?} {key}");
        }
    }
}
