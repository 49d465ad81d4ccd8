//! Who holds a state lock: written into the lock file by the holder, shown to whoever is
//! refused.

use std::fmt;
use std::os::unix::fs::MetadataExt;

use serde::{Deserialize, Serialize};

/// The holder of a state lock, as it recorded itself in the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The user running the holding process.
    pub user: String,
    /// The machine it runs on.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// The command it runs, e.g. `apply`.
    pub operation: String,
    /// When it took the lock, RFC 3339 in UTC.
    pub since: String,
}

impl LockInfo {
    /// Describes the current process, taking the lock now for `operation`.
    pub fn current(operation: &str) -> LockInfo {
        LockInfo {
            user: current_user(),
            host: current_host(),
            pid: std::process::id(),
            operation: operation.to_owned(),
            since: since_now(),
        }
    }

    /// Stands in for a holder that has not written its details yet (it is between taking
    /// the lock and writing the file) or wrote something unreadable.
    pub fn unknown() -> LockInfo {
        LockInfo {
            user: "unknown".to_owned(),
            host: "unknown".to_owned(),
            pid: 0,
            operation: "unknown".to_owned(),
            since: "an unknown time".to_owned(),
        }
    }
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`: whole seconds are enough to tell a holder by.
fn since_now() -> String {
    let now = jiff::Timestamp::now().as_second();
    jiff::Timestamp::from_second(now)
        .expect("now is within jiff's range")
        .to_string()
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{} (pid {}, {}) since {}",
            self.user, self.host, self.pid, self.operation, self.since
        )
    }
}

/// The login name: `$USER` or `$LOGNAME` as a shell sets them, else the name `/etc/passwd`
/// gives our uid (services and containers often run without those variables).
fn current_user() -> String {
    for variable in ["USER", "LOGNAME"] {
        if let Ok(name) = std::env::var(variable)
            && !name.is_empty()
        {
            return name;
        }
    }
    // The owner of /proc/self is our real uid; no libc call needed.
    let Ok(uid) = std::fs::metadata("/proc/self").map(|meta| meta.uid()) else {
        return "unknown".to_owned();
    };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| user_name_of(&passwd, uid))
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// Finds `uid`'s name in the text of an `/etc/passwd` (`name:x:uid:gid:...`).
fn user_name_of(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let entry_uid: u32 = fields.nth(1)?.parse().ok()?;
        (entry_uid == uid).then(|| name.to_owned())
    })
}

fn current_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_user_names_in_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
                      broken line\n\
                      yoyo:x:1000:1000::/home/yoyo:/bin/sh\n";
        let cases = [(0, Some("root")), (1000, Some("yoyo")), (4242, None)];
        for (uid, expected) in cases {
            assert_eq!(user_name_of(passwd, uid).as_deref(), expected, "uid {uid}");
        }
    }

    #[test]
    fn displays_who_and_since_when() {
        let info = LockInfo {
            user: "root".to_owned(),
            host: "host".to_owned(),
            pid: 123,
            operation: "apply".to_owned(),
            since: "2026-11-30T09:12:03Z".to_owned(),
        };
        assert_eq!(
            info.to_string(),
            "root@host (pid 123, apply) since 2026-11-30T09:12:03Z"
        );
    }

    #[test]
    fn describes_this_process() {
        let info = LockInfo::current("plan");
        assert_eq!(info.pid, std::process::id());
        assert_eq!(info.operation, "plan");
        assert!(!info.user.is_empty() && !info.host.is_empty());
        assert!(
            info.since.ends_with('Z') && info.since.len() == 20,
            "{}",
            info.since
        );
    }
}
