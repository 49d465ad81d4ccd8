//! Checks across tables: references and the templates holding them, host ports taken
//! twice, dependency cycles.

use super::*;

impl Loader<'_> {
    /// Two resources on one host port, or one resource on it twice: Docker would refuse
    /// the second at apply, after the first half of the environment is up.
    pub(super) fn check_host_ports(&mut self) {
        let mut first_owner: BTreeMap<u16, Address> = BTreeMap::new();
        let mut ports = std::mem::take(&mut self.host_ports);
        ports.sort_by_key(|(_, location, _)| (location.line, location.column));
        for (port, location, owner) in ports {
            match first_owner.get(&port) {
                None => {
                    first_owner.insert(port, owner);
                }
                Some(first) if *first == owner => {
                    let owner = owner.to_string();
                    self.report_at(location, Problem::PortTwice { port, owner });
                }
                Some(first) => {
                    let problem = Problem::PortTaken {
                        port,
                        first: first.to_string(),
                        second: owner.to_string(),
                    };
                    self.report_at(location, problem);
                }
            }
        }
    }

    /// Two resources whose objects would have one name: each apply would take the other's
    /// for a leftover of its own, and the plan would never settle.
    pub(super) fn check_names(&mut self, resources: &[Resource], project: Option<&str>) {
        let mut first: BTreeMap<(&'static str, String), &Address> = BTreeMap::new();
        for resource in resources {
            let kind = resource.address.kind();
            for (object, name) in kind.objects(&resource.address, resource.settings.as_ref()) {
                match first.get(&(object, name.clone())) {
                    None => {
                        first.insert((object, name), &resource.address);
                    }
                    Some(earlier) => {
                        let problem = Problem::NameTaken {
                            first: earlier.to_string(),
                            second: resource.address.to_string(),
                            object,
                            name: match project {
                                Some(project) => format!("{project}-{name}"),
                                None => name,
                            },
                        };
                        self.report_at(resource.location, problem);
                        break;
                    }
                }
            }
        }
    }

    pub(super) fn check_cycles(&mut self, resources: &[Resource]) {
        let graph = Graph::unchecked(resources);
        for cycle in graph.cycles() {
            let start = &cycle.addresses[0];
            let location = resources
                .iter()
                .find(|resource| &resource.address == start)
                .map_or_else(Location::default, |resource| resource.location);
            self.report_at(location, Problem::Cycle { path: cycle.path() });
        }
    }

    // ----- templates -----

    /// A string value parsed as a template, its references checked against what is
    /// declared. Problems point at the `${` inside the string when that can be found.
    pub(super) fn template(&mut self, node: &Node, key: &str) -> Checked<Template> {
        let text = self.string(node, key)?;
        let span = node.span();
        if text.len() > MAX_VALUE_BYTES {
            let problem = Problem::TooLong {
                key: key.to_owned(),
                length: text.len(),
                max: MAX_VALUE_BYTES,
            };
            return Err(self.report(span, problem));
        }
        let (template, offsets) = template::parse_with_offsets(text).map_err(|error| {
            let at = self.offset_in_string(span.clone(), text, error.offset);
            self.report(at..at, Problem::Template(error))
        })?;
        let mut ok = true;
        for (reference, offset) in template.references().zip(offsets) {
            if let Some(problem) = self.check_reference(reference) {
                let at = self.offset_in_string(span.clone(), text, offset);
                self.report(at..at, problem);
                ok = false;
            }
        }
        if ok { Ok(template) } else { Err(Reported) }
    }

    pub(super) fn check_reference(&self, reference: &Reference) -> Option<Problem> {
        match reference {
            Reference::Variable(name) if !self.declared.variables.contains(name) => {
                let declared = self.declared.variables.iter().map(String::as_str);
                Some(Problem::UnknownVariable {
                    name: name.clone(),
                    suggestion: did_you_mean(name, declared),
                })
            }
            Reference::Variable(_) => None,
            Reference::Attribute { address, .. } if !self.declared.resources.contains(address) => {
                Some(self.unknown_resource(&address.to_string()))
            }
            Reference::Attribute { address, attribute } => {
                let known = address.kind().schema().exports();
                (!known.contains(&attribute.as_str())).then(|| Problem::UnknownAttribute {
                    address: address.to_string(),
                    attribute: attribute.clone(),
                    suggestion: did_you_mean(attribute, known.iter().copied()),
                    known,
                })
            }
        }
    }

    /// The text of a template when it holds no reference but to variables with a value.
    pub(super) fn literal(&self, template: &Template) -> Option<String> {
        let mut text = String::new();
        for part in &template.parts {
            match part {
                Part::Text(literal) => text.push_str(literal),
                Part::Reference(Reference::Variable(name)) => {
                    text.push_str(&self.values.get(name)?.to_string())
                }
                Part::Reference(Reference::Attribute { .. }) => return None,
            }
        }
        Some(text)
    }

    /// The text of a template whose only references are variables; `Ok(None)` when a
    /// variable has no value (already reported where it is declared).
    pub(super) fn substitute(
        &mut self,
        template: &Template,
        node: &Node,
        key: &str,
    ) -> Checked<Option<String>> {
        let mut text = String::new();
        for part in &template.parts {
            match part {
                Part::Text(literal) => text.push_str(literal),
                Part::Reference(Reference::Variable(name)) => match self.values.get(name) {
                    Some(value) => text.push_str(&value.to_string()),
                    None => return Ok(None),
                },
                Part::Reference(Reference::Attribute { address, attribute }) => {
                    let problem = Problem::OnlyVariables {
                        key: key.to_owned(),
                        reference: format!("${{{address}.{attribute}}}"),
                    };
                    return Err(self.report(node.span(), problem));
                }
            }
        }
        Ok(Some(text))
    }

    /// Where byte `offset` of a string value's text is in the file. Exact when the value
    /// is written without escapes (the usual case); otherwise the start of the string.
    pub(super) fn offset_in_string(&self, span: Range<usize>, text: &str, offset: usize) -> usize {
        let raw = &self.source[span.clone()];
        let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            3
        } else {
            1
        };
        match raw.get(quote..raw.len().saturating_sub(quote)) {
            Some(inner) if inner == text => span.start + quote + offset,
            _ => span.start,
        }
    }
}
