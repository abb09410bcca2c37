//! The systemd unit shipped in `systemd/deskcliq.service`: systemd itself must accept it
//! (`systemd-analyze verify`, with any complaint about the unit counted as a failure), and
//! it must declare the contract the daemon relies on.

use std::path::Path;
use std::process::Command;

const UNIT_PATH: &str = "systemd/deskcliq.service";
const UNIT: &str = include_str!("../systemd/deskcliq.service");
/// Where the unit expects the binary; replaced by the built one for `verify`, which checks
/// that every Exec*= command exists.
const INSTALLED_BINARY: &str = "/usr/local/bin/deskcliq";
/// The first systemd that knows `Type=notify-reload`.
const NOTIFY_RELOAD_SINCE: u32 = 253;
/// The credentials the daemon's config refers to as `$CREDENTIALS_DIRECTORY/<id>`.
const CREDENTIALS: [&str; 4] = [
    "client_secret",
    "refresh_token",
    "webhook_token",
    "secret_key",
];

/// One `Key=value` line of a unit file (continuation lines joined).
#[derive(Debug)]
struct Assignment {
    section: String,
    key: String,
    value: String,
}

/// Parses a unit file the way systemd reads it: `[Section]` headers, `Key=value`
/// assignments, comment lines starting with `#` or `;` ignored (also inside a
/// continuation), a trailing `\` continuing the value on the next line.
fn parse(text: &str) -> Vec<Assignment> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if pending.is_none() {
            if line.is_empty() {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.to_owned();
                continue;
            }
        }
        let (start, mut joined) = pending.take().unwrap_or((number, String::new()));
        match line.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                joined.push(' ');
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(line);
                let (key, value) = joined.split_once('=').unwrap_or_else(|| {
                    panic!("{UNIT_PATH}:{start}: not a Key=value line: {joined:?}")
                });
                assert!(
                    !section.is_empty(),
                    "{UNIT_PATH}:{start}: assignment outside any section"
                );
                out.push(Assignment {
                    section: section.clone(),
                    key: key.trim().to_owned(),
                    value: value.trim().to_owned(),
                });
            }
        }
    }
    assert!(
        pending.is_none(),
        "{UNIT_PATH}: ends inside a continued line"
    );
    out
}

struct Unit(Vec<Assignment>);

impl Unit {
    fn values(&self, section: &str, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|a| a.section == section && a.key == key)
            .map(|a| a.value.as_str())
            .collect()
    }

    /// The effective value of a single-valued setting: the last assignment wins.
    fn get(&self, section: &str, key: &str) -> &str {
        self.values(section, key)
            .last()
            .copied()
            .unwrap_or_else(|| panic!("{UNIT_PATH}: [{section}] has no {key}="))
    }

    /// The effective items of a list setting (space-separated, accumulating; an empty
    /// assignment resets the list).
    fn list(&self, section: &str, key: &str) -> Vec<&str> {
        let mut items = Vec::new();
        for value in self.values(section, key) {
            if value.is_empty() {
                items.clear();
            }
            items.extend(value.split_whitespace());
        }
        items
    }
}

#[test]
fn systemd_unit_declares_the_contract() {
    let unit = Unit(parse(UNIT));
    let s = "Service";

    assert_eq!(unit.get(s, "Type"), "notify-reload");
    assert_eq!(
        unit.get(s, "ExecStart"),
        format!("{INSTALLED_BINARY} run --config /etc/deskcliq/config.toml")
    );
    assert_eq!(unit.get(s, "Restart"), "on-failure");
    let watchdog = unit.get(s, "WatchdogSec");
    assert!(
        !watchdog.is_empty() && !["0", "infinity"].contains(&watchdog),
        "WatchdogSec= must enable the watchdog, is {watchdog:?}"
    );
    assert!(!unit.get(s, "TimeoutStopSec").is_empty());
    assert!(unit.list(s, "StateDirectory").contains(&"deskcliq"));
    assert!(unit.list(s, "ConfigurationDirectory").contains(&"deskcliq"));

    // Every credential the config refers to is loaded, from an absolute path.
    let config = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml"))
        .expect("read config.toml");
    let credentials = unit.values(s, "LoadCredential");
    for id in CREDENTIALS {
        let source = credentials
            .iter()
            .find_map(|v| v.strip_prefix(id).and_then(|rest| rest.strip_prefix(':')))
            .unwrap_or_else(|| panic!("no LoadCredential={id}:… in {credentials:?}"));
        assert!(
            source.starts_with('/'),
            "LoadCredential={id}: {source:?} is not absolute"
        );
        assert!(
            config.contains(&format!("$CREDENTIALS_DIRECTORY/{id}\"")),
            "config.toml does not mention $CREDENTIALS_DIRECTORY/{id}"
        );
    }

    assert_eq!(unit.get(s, "DynamicUser"), "yes");
    assert_eq!(unit.get(s, "ProtectSystem"), "strict");
    assert_eq!(unit.get(s, "NoNewPrivileges"), "yes");
    assert!(
        unit.values(s, "SystemCallFilter")
            .iter()
            .any(|v| !v.starts_with('~') && v.split_whitespace().any(|g| g == "@system-service")),
        "SystemCallFilter= must allow @system-service"
    );
    assert!(
        !unit.values(s, "CapabilityBoundingSet").is_empty()
            && unit.list(s, "CapabilityBoundingSet").is_empty(),
        "CapabilityBoundingSet= must be present and empty"
    );
    assert!(unit.list(s, "AmbientCapabilities").is_empty());
    let families = unit.list(s, "RestrictAddressFamilies");
    for family in ["AF_UNIX", "AF_INET", "AF_INET6"] {
        // AF_UNIX: the sd_notify socket; AF_INET*: listening, and HTTPS to Zoho.
        assert!(
            families.contains(&family),
            "RestrictAddressFamilies= lacks {family}: {families:?}"
        );
    }
    assert!(
        !families.iter().any(|f| f.starts_with('~')),
        "{families:?} is a deny list"
    );

    assert!(
        unit.list("Unit", "Wants")
            .contains(&"network-online.target")
    );
    assert!(
        unit.list("Unit", "After")
            .contains(&"network-online.target")
    );
    assert!(
        unit.list("Install", "WantedBy")
            .contains(&"multi-user.target")
    );

    // The binary accepts the ExecStart= command line (`--help` stops before loading the
    // config; an unknown subcommand or flag is still an error).
    let exec = unit.get(s, "ExecStart");
    let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_deskcliq"))
        .args(&args)
        .arg("--help")
        .output()
        .expect("run deskcliq");
    assert!(
        out.status.success(),
        "deskcliq rejects the ExecStart= arguments {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    let version = systemd_version();
    let shipped = with_built_binary(UNIT);
    if version >= NOTIFY_RELOAD_SINCE {
        verify(&shipped, "as shipped");
    } else {
        eprintln!(
            "systemd {version} < {NOTIFY_RELOAD_SINCE} does not know Type=notify-reload: \
             verifying only the documented Type=notify fallback"
        );
    }
    verify(
        &fallback_variant(&shipped),
        "with the commented Type=notify fallback",
    );
}

/// The major version of the installed systemd, from `systemd-analyze --version`.
fn systemd_version() -> u32 {
    let out = match Command::new("systemd-analyze").arg("--version").output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "systemd-analyze is not installed: install the `systemd` package (e.g. \
             `apt-get install systemd`; CI installs it) to check {UNIT_PATH}"
        ),
        Err(e) => panic!("cannot run systemd-analyze: {e}"),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    // "systemd 252 (252.38-1~deb12u1)"
    text.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the version from systemd-analyze: {text:?}"))
}

/// The unit with ExecStart= pointing at the binary cargo built. Lines keep their numbers, so
/// verify's messages point into the real file.
fn with_built_binary(unit: &str) -> String {
    let quoted = built_binary();
    let prefix = format!("ExecStart={INSTALLED_BINARY} ");
    let mut replaced = 0;
    let lines: Vec<String> = unit
        .lines()
        .map(|line| match line.strip_prefix(&prefix) {
            Some(args) => {
                replaced += 1;
                format!("ExecStart={quoted} {args}")
            }
            None => line.to_owned(),
        })
        .collect();
    assert_eq!(
        replaced, 1,
        "{UNIT_PATH} needs exactly one `{prefix}…` line"
    );
    lines.join("\n") + "\n"
}

/// The variant the unit documents for systemd < 253: the active `Type=notify-reload`
/// commented out, the commented-out `#Type=` and `#ExecReload=` lines activated in place.
fn fallback_variant(unit: &str) -> String {
    let mut active = 0;
    let (mut types, mut reloads) = (0, 0);
    let lines: Vec<String> = unit
        .lines()
        .map(|line| {
            if line == "Type=notify-reload" {
                active += 1;
                format!("#{line}")
            } else if let Some(directive) = line.strip_prefix("#Type=") {
                types += 1;
                format!("Type={directive}")
            } else if let Some(command) = line.strip_prefix("#ExecReload=") {
                reloads += 1;
                format!("ExecReload={}", existing_program(command))
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert_eq!(
        active, 1,
        "{UNIT_PATH} needs exactly one `Type=notify-reload` line"
    );
    assert!(
        types == 1 && reloads == 1,
        "{UNIT_PATH} must document the systemd < {NOTIFY_RELOAD_SINCE} fallback as one \
         commented-out `#Type=` line and one `#ExecReload=` line"
    );
    lines.join("\n") + "\n"
}

/// `verify` requires an Exec*= program to exist. The fallback's `/bin/kill` may be missing
/// from a minimal CI image (Debian's `procps`); the copy then names an executable that
/// exists, and the rest of the line is still parsed.
fn existing_program(command: &str) -> String {
    let (program, args) = command.split_once(' ').unwrap_or((command, ""));
    if Path::new(program).exists() {
        return command.to_owned();
    }
    eprintln!(
        "{program} does not exist here: verifying ExecReload= with the deskcliq binary instead"
    );
    format!("{} {args}", built_binary())
}

/// The binary cargo built, quoted for an Exec*= line.
fn built_binary() -> String {
    let built = env!("CARGO_BIN_EXE_deskcliq");
    assert!(
        !built.contains(['"', '\\']),
        "cannot quote the binary path {built:?} for an Exec*= line"
    );
    // Quoted against spaces; `%` would start a specifier.
    format!("\"{}\"", built.replace('%', "%%"))
}

/// Runs `systemd-analyze verify` on `unit` saved as deskcliq.service. Fails on a non-zero
/// exit and on any output line about our unit: systemd reports a misspelled directive or
/// an unparsable value as a warning ("Unknown key …", "Failed to parse …, ignoring") and,
/// depending on the version and flags, still exits 0.
fn verify(unit: &str, variant: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("deskcliq.service");
    std::fs::write(&path, unit).expect("write the unit");
    // --man=no: do not look up Documentation= man pages (absent from CI images).
    // --recursive-errors=no: judge only our unit, not the distribution's units it pulls in;
    // with the flag given, systemd 252 also exits 1 on a syntax warning (without it, 0).
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no", "--recursive-errors=no"])
        .arg(&path)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .expect("run systemd-analyze verify");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let complaints: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| l.contains("deskcliq.service"))
        .collect();
    if !stderr.trim().is_empty() {
        // Lines about other units (e.g. the distribution's) are shown, not counted.
        eprintln!("systemd-analyze verify ({variant}) said:\n{stderr}");
    }
    assert!(
        out.status.success() && complaints.is_empty(),
        "systemd-analyze verify rejects {UNIT_PATH} ({variant}; line numbers match the file), \
         {}:\n{}\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}",
        out.status,
        complaints.join("\n"),
    );
}
