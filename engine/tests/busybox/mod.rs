//! A build context for test images, made from Debian's static busybox (no registry can be
//! reached): `sh`, `httpd`, `wget`, `sleep` and the rest, in a scratch image.

use std::path::Path;

const BUSYBOX: &str = "/bin/busybox";

/// Writes the context `<dir>/<name>`: busybox, and a Dockerfile installing its applets.
pub fn context(dir: &Path, name: &str) {
    let context = dir.join(name);
    std::fs::create_dir_all(&context).unwrap();
    std::fs::copy(BUSYBOX, context.join("busybox")).unwrap_or_else(|error| {
        panic!("{BUSYBOX}: {error} (scripts/prerequisites installs busybox-static)")
    });
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
    )
    .unwrap();
}
