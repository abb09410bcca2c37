//! `deskcliq uninstall [--purge]`: refuses while the daemon runs; removes the Desk webhook
//! and the Cliq handlers deskcliq created; channels stay (as the brief says); the store is
//! kept unless `--purge`.

use super::{SetupError, Zoho, handlers};
use crate::config::Config;

pub struct Options {
    pub purge: bool,
}

pub async fn run(config: &Config, opts: &Options) -> Result<Vec<String>, SetupError> {
    match crate::store::holder(&config.storage.path) {
        Ok(None) => {}
        Ok(Some(pid)) => {
            return Err(SetupError::Refused(format!(
                "a deskcliq daemon is running on {}{}: stop the service first (systemctl stop deskcliq)",
                config.storage.path.display(),
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
            )));
        }
        // Not "running": the admin would stop a service that is not the trouble.
        Err(e) => {
            return Err(SetupError::Refused(format!(
                "cannot tell whether a deskcliq daemon is running: {e}; run uninstall as root or as the service's user"
            )));
        }
    }
    let z = Zoho::connect(config)?;
    let mut lines = Vec::new();
    let ours = config.webhook_url();
    let hooks = z
        .desk
        .list_webhooks()
        .await
        .map_err(|e| SetupError::Zoho(e.to_string()))?;
    // Also the one registered under an older URL (desk.webhook_token changed since), which
    // install would have updated: Desk still sends to it.
    let stale = super::stale_own_webhook(&hooks, config).map(|h| h.id.clone());
    let mut removed = 0;
    for h in hooks.iter().filter(|h| {
        h.url.trim_end_matches('/') == ours.trim_end_matches('/') || Some(&h.id) == stale.as_ref()
    }) {
        z.desk
            .delete_webhook(&h.id)
            .await
            .map_err(|e| SetupError::Zoho(e.to_string()))?;
        lines.push(format!("- removed Desk webhook {}", h.id));
        removed += 1;
    }
    if removed == 0 {
        lines.push("= no Desk webhook of this deskcliq was registered".into());
    }
    lines.extend(handlers::remove(&z.cliq, config).await?);
    lines.push(format!(
        "= channels stay: {}",
        super::channels(config)
            .iter()
            .map(|c| format!("#{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if opts.purge {
        // Taking the store's lock proves no daemon started meanwhile.
        let store = crate::store::Store::open(&config.storage.path)?;
        drop(store);
        // Under systemd's DynamicUser=, storage.path is a symbolic link to the real directory
        // (/var/lib/deskcliq -> private/deskcliq): remove_dir_all would take only the link,
        // which systemd recreates, and the old store would come back at the next start.
        let path = &config.storage.path;
        let real = std::fs::canonicalize(path).map_err(|source| SetupError::Write {
            path: path.clone(),
            source,
        })?;
        std::fs::remove_dir_all(&real).map_err(|source| SetupError::Write {
            path: real.clone(),
            source,
        })?;
        if real != *path && std::fs::symlink_metadata(path).is_ok() {
            std::fs::remove_file(path).map_err(|source| SetupError::Write {
                path: path.clone(),
                source,
            })?;
        }
        lines.push(format!(
            "- removed the store {}",
            config.storage.path.display()
        ));
    } else {
        lines.push(format!(
            "= the store {} is kept (--purge removes it)",
            config.storage.path.display()
        ));
    }
    Ok(lines)
}
