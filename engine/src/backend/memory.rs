//! A backend in memory, for fast tests of the core: plan, apply scheduling, saved plans,
//! replacement order, failures. Every kind runs on it through one driver that keeps each
//! object's attributes and logs every operation. A test can make an operation fail, make
//! the backend return something else than was planned, slow every operation down to see
//! what runs at once, or change things behind yoyoform's back. It proves the core, never a
//! real backend: the Docker tests do that.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Backend, Found, Process, Swept};
use crate::attributes::{Attributes, Path};
use crate::error::Error;
use crate::kind::{Applied, Driver, Kind, Recorded, Work};
use crate::kinds::registry;
use crate::plan::Instance;

/// One object the backend holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The instance it was made for, e.g. `service.api[0]`.
    pub instance: String,
    /// What it is (its kind's backend object: `container`, `network`, ...).
    pub object: &'static str,
    /// Its attributes, as the driver returned them.
    pub attributes: Attributes,
    /// The labels it was made with.
    pub labels: BTreeMap<String, String>,
}

#[derive(Default)]
struct Store {
    /// By id.
    objects: BTreeMap<String, Object>,
    /// The last id given.
    last_id: u64,
    /// `create service.api #3`, in the order they happened.
    log: Vec<String>,
    /// Each preparation asked for, with how many operations were done by then.
    prepared: Vec<(String, usize)>,
    /// Instance → the message its next operations fail with.
    failing: BTreeMap<String, String>,
    /// Instance → path → the value returned instead of the planned one.
    tampered: BTreeMap<String, BTreeMap<Path, String>>,
    /// How long each operation takes.
    delay: Duration,
    /// Operations in flight now, and the most there ever were.
    running: usize,
    peak: usize,
}

/// The in-memory backend.
#[derive(Clone, Default)]
pub struct MemoryBackend {
    store: Arc<Mutex<Store>>,
    drivers: Arc<BTreeMap<&'static str, MemoryDriver>>,
}

impl MemoryBackend {
    /// An empty backend running every kind.
    pub fn new() -> Self {
        let store = Arc::new(Mutex::new(Store::default()));
        let drivers = registry()
            .iter()
            .map(|kind| {
                let driver = MemoryDriver {
                    store: store.clone(),
                    kind,
                };
                (kind.name(), driver)
            })
            .collect();
        MemoryBackend {
            store,
            drivers: Arc::new(drivers),
        }
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().expect("the memory backend's store")
    }

    /// Every object, by the instance it stands for.
    pub fn objects(&self) -> BTreeMap<String, Attributes> {
        self.store()
            .objects
            .values()
            .map(|object| (object.instance.clone(), object.attributes.clone()))
            .collect()
    }

    /// Every operation so far, in order: `create service.api #3`, `delete service.api #1`.
    pub fn log(&self) -> Vec<String> {
        self.store().log.clone()
    }

    /// Every preparation apply asked for, in order: the instance, and how many operations
    /// were done when it was asked.
    pub fn prepared(&self) -> Vec<(String, usize)> {
        self.store().prepared.clone()
    }

    /// The most operations that were ever in flight at once.
    pub fn peak_concurrency(&self) -> usize {
        self.store().peak
    }

    /// Makes every operation on `instance` fail with `message` from now on.
    pub fn fail(&self, instance: &str, message: &str) {
        self.store()
            .failing
            .insert(instance.to_owned(), message.to_owned());
    }

    /// Makes the backend answer `value` at `path` (`image`, `env["KEY"]`) of what it makes
    /// for `instance`, whatever was planned: a backend that breaks the plan's promise.
    pub fn tamper(&self, instance: &str, path: &str, value: &str) {
        let path = Path::parse(path).expect("a path like `env[\"KEY\"]`");
        self.store()
            .tampered
            .entry(instance.to_owned())
            .or_default()
            .insert(path, value.to_owned());
    }

    /// Makes every operation take this long.
    pub fn delay(&self, delay: Duration) {
        self.store().delay = delay;
    }

    /// Removes the object of `instance` behind yoyoform's back.
    pub fn remove(&self, instance: &str) {
        self.store()
            .objects
            .retain(|_, object| object.instance != instance);
    }

    /// Puts an object there behind yoyoform's back, as someone (or a killed apply) would:
    /// `object` (`container`, `network`, ...) called `name`, with these labels; its id.
    pub fn put(&self, object: &'static str, name: &str, labels: &[(&str, &str)]) -> String {
        let mut store = self.store();
        store.last_id += 1;
        let id = store.last_id.to_string();
        let mut attributes = Attributes::default();
        attributes.text("name", name);
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let instance = labels
            .get(resources::labels::ADDRESS)
            .cloned()
            .unwrap_or_default();
        store.objects.insert(
            id.clone(),
            Object {
                instance,
                object,
                attributes,
                labels,
            },
        );
        id
    }

    /// Every object, by id.
    pub fn objects_by_id(&self) -> BTreeMap<String, Object> {
        self.store().objects.clone()
    }

    /// Changes the value at `path` of `instance`'s object behind yoyoform's back.
    pub fn set(&self, instance: &str, path: &str, value: &str) {
        let path = Path::parse(path).expect("a path like `env[\"KEY\"]`");
        for object in self.store().objects.values_mut() {
            if object.instance == instance {
                put(&mut object.attributes, &path, value);
            }
        }
    }
}

#[async_trait::async_trait]
impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn driver(&self, kind: &'static str) -> Result<&dyn Driver, Error> {
        self.drivers
            .get(kind)
            .map(|driver| driver as &dyn Driver)
            .ok_or(Error::Unsupported {
                kind,
                backend: "memory",
            })
    }

    async fn survey(&self) -> Result<Vec<Found>, Error> {
        let store = self.store();
        Ok(store
            .objects
            .iter()
            .filter_map(|(id, object)| {
                let name = object.attributes.get_text("name")?;
                Some(Found {
                    object: object.object.to_owned(),
                    id: id.clone(),
                    name: name.to_owned(),
                    labels: object.labels.clone(),
                })
            })
            .collect())
    }

    /// Removes what this state made: objects labelled with the project and the lineage.
    async fn sweep(
        &self,
        project: &str,
        lineage: &str,
        _keep_images: bool,
    ) -> Result<Swept, Error> {
        let mut store = self.store();
        let owned = |object: &Object| {
            let label = |name: &str| object.labels.get(name).map(String::as_str);
            label(resources::labels::PROJECT) == Some(project)
                && label(resources::labels::LINEAGE) == Some(lineage)
        };
        let (removed, kept): (BTreeMap<String, Object>, BTreeMap<String, Object>) =
            std::mem::take(&mut store.objects)
                .into_iter()
                .partition(|(_, object)| owned(object));
        store.objects = kept;
        store.log.push("sweep".to_owned());
        Ok(Swept {
            instances: removed.len(),
            objects: removed
                .into_values()
                .map(|object| object.instance)
                .collect(),
        })
    }
}

/// Sets the value at `path`: a text attribute, or one key of a map attribute.
fn put(attributes: &mut Attributes, path: &Path, value: &str) {
    match &path.key {
        None => {
            attributes.text(&path.attribute, value);
        }
        Some(key) => {
            let mut map = attributes
                .get_map(&path.attribute)
                .cloned()
                .unwrap_or_default();
            map.insert(key.clone(), value.to_owned());
            attributes.map(&path.attribute, map);
        }
    }
}

/// The driver of one kind on the memory backend.
#[derive(Clone)]
struct MemoryDriver {
    store: Arc<Mutex<Store>>,
    kind: &'static dyn Kind,
}

impl MemoryDriver {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().expect("the memory backend's store")
    }

    /// One operation: counted while in flight, slowed down as asked, failed as asked.
    async fn operation(&self, what: &str, instance: &str) -> Result<(), Error> {
        let delay = {
            let mut store = self.store();
            store.running += 1;
            store.peak = store.peak.max(store.running);
            store.delay
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut store = self.store();
        store.running -= 1;
        match store.failing.get(instance) {
            Some(message) => Err(Error::Backend(format!("{what} {instance}: {message}"))),
            None => Ok(()),
        }
    }

    /// Makes an object of `planned` with `labels`: the computed attributes filled in
    /// (`id-3`), any tampering applied.
    fn make(
        &self,
        instance: &str,
        planned: &Attributes,
        labels: &BTreeMap<String, String>,
        keep: Option<&Recorded>,
    ) -> Applied {
        let mut store = self.store();
        let id = match keep.and_then(|prior| prior.ids.first()) {
            Some(id) => id.clone(),
            None => {
                store.last_id += 1;
                store.last_id.to_string()
            }
        };
        let mut attributes = planned.clone();
        for computed in self.kind.schema().computed() {
            let kept = keep.and_then(|prior| prior.attributes.get_text(computed.name));
            let value = kept.map_or_else(|| format!("{}-{id}", computed.name), str::to_owned);
            attributes.text(computed.name, value);
            if computed.sensitive {
                attributes.sensitive.insert(Path::attribute(computed.name));
            }
        }
        for (path, value) in store.tampered.get(instance).cloned().unwrap_or_default() {
            put(&mut attributes, &path, &value);
        }
        let verb = if keep.is_some() { "update" } else { "create" };
        store.log.push(format!("{verb} {instance} #{id}"));
        store.objects.insert(
            id.clone(),
            Object {
                instance: instance.to_owned(),
                object: self.kind.schema().object,
                attributes: attributes.clone(),
                labels: labels.clone(),
            },
        );
        Applied {
            ids: vec![id],
            attributes,
        }
    }
}

#[async_trait::async_trait]
impl Driver for MemoryDriver {
    async fn read(
        &self,
        _instance: &Instance,
        _project: &str,
        recorded: &Recorded,
    ) -> Result<Option<Attributes>, Error> {
        let id = recorded.ids.first().map_or("", String::as_str);
        let found = self.store().objects.get(id).cloned();
        Ok(found.map(|object| object.attributes))
    }

    /// Only noted: what a real driver prepares (an image) the memory backend has at once.
    async fn prepare(&self, work: &Work<'_>, _planned: &Attributes) -> Result<(), Error> {
        let mut store = self.store();
        let done = store.log.len();
        store.prepared.push((work.instance.to_string(), done));
        Ok(())
    }

    async fn create(&self, work: &Work<'_>, planned: &Attributes) -> Result<Applied, Error> {
        let instance = work.instance.to_string();
        self.operation("creating", &instance).await?;
        Ok(self.make(&instance, planned, work.labels, None))
    }

    async fn update(
        &self,
        work: &Work<'_>,
        prior: &Recorded,
        planned: &Attributes,
    ) -> Result<Applied, Error> {
        let instance = work.instance.to_string();
        self.operation("updating", &instance).await?;
        Ok(self.make(&instance, planned, work.labels, Some(prior)))
    }

    async fn adopt(
        &self,
        work: &Work<'_>,
        id: &str,
        planned: &Attributes,
    ) -> Result<Applied, Error> {
        let instance = work.instance.to_string();
        self.operation("adopting", &instance).await?;
        if !self.store().objects.contains_key(id) {
            return Err(Error::Backend(format!(
                "adopting {instance}: no object {id}"
            )));
        }
        let kept = Recorded {
            ids: vec![id.to_owned()],
            attributes: Attributes::default(),
            target: Default::default(),
        };
        let applied = self.make(&instance, planned, work.labels, Some(&kept));
        let mut store = self.store();
        store.log.pop();
        store.log.push(format!("adopt {instance} #{id}"));
        Ok(applied)
    }

    async fn import(
        &self,
        _instance: &Instance,
        _project: &str,
        id: &str,
        planned: &Attributes,
    ) -> Result<Option<Applied>, Error> {
        let found = self.store().objects.get(id).cloned();
        Ok(found.map(|object| {
            let mut attributes = planned.clone();
            for (name, value) in object.attributes.values {
                attributes.values.insert(name, value);
            }
            Applied {
                ids: vec![id.to_owned()],
                attributes,
            }
        }))
    }

    /// An object of a kind whose objects are containers runs, under its name, as long as
    /// the backend holds it.
    async fn processes(
        &self,
        instance: &Instance,
        recorded: &Recorded,
    ) -> Result<Vec<Process>, Error> {
        if self.kind.schema().object != "container" {
            return Ok(Vec::new());
        }
        let id = recorded.ids.first().map_or("", String::as_str);
        let found = self.store().objects.get(id).cloned();
        let name = recorded.attributes.get_text("name").unwrap_or_default();
        let process = match found {
            Some(object) => Process {
                container: object
                    .attributes
                    .get_text("name")
                    .unwrap_or(name)
                    .to_owned(),
                container_id: Some(id.to_owned()),
                state: "running".to_owned(),
                ..Process::missing(instance, recorded.target, name)
            },
            None => Process::missing(instance, recorded.target, name),
        };
        Ok(vec![process])
    }

    async fn delete(&self, work: &Work<'_>, prior: &Recorded) -> Result<(), Error> {
        let instance = work.instance.to_string();
        self.operation("deleting", &instance).await?;
        let mut store = self.store();
        for id in &prior.ids {
            store.objects.remove(id);
            store.log.push(format!("delete {instance} #{id}"));
        }
        Ok(())
    }
}
