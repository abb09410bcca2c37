//! Scripting the simulator's Zoho accounts: OAuth grants, authorization codes and the browser
//! session of the user who signs in (split from `state.rs`, which scripts the portal).

use super::model::{AuthCode, BrowserUser, Grant};
use super::state::State;

impl State {
    /// Adds an OAuth grant acting as a Zoho user (an agent who linked their account).
    pub fn add_grant(&mut self, refresh_token: &str, zuid: &str, email: &str) {
        self.add_grant_with_scopes(refresh_token, zuid, email, &[]);
    }

    /// [`State::add_grant`] remembering the scopes the user consented to.
    pub fn add_grant_with_scopes(
        &mut self,
        refresh_token: &str,
        zuid: &str,
        email: &str,
        scopes: &[String],
    ) {
        self.accounts.grants.insert(
            refresh_token.to_string(),
            Grant {
                zuid: zuid.into(),
                email: email.into(),
                scopes: scopes.to_vec(),
                offline: true,
            },
        );
    }

    /// An authorization code the token endpoint exchanges for a new grant (with a refresh
    /// token, no scopes recorded).
    pub fn add_auth_code(&mut self, code: &str, zuid: &str, email: &str, redirect_uri: &str) {
        self.add_auth_code_with_scopes(code, zuid, email, redirect_uri, &[], true);
    }

    /// An authorization code as `/oauth/v2/auth` issues it: the grant made from it keeps
    /// `scopes`; `offline` (`access_type=offline`) makes the exchange return a refresh token.
    pub fn add_auth_code_with_scopes(
        &mut self,
        code: &str,
        zuid: &str,
        email: &str,
        redirect_uri: &str,
        scopes: &[String],
        offline: bool,
    ) {
        self.accounts.codes.insert(
            code.to_string(),
            AuthCode {
                zuid: zuid.into(),
                email: email.into(),
                redirect_uri: redirect_uri.into(),
                scopes: scopes.to_vec(),
                offline,
            },
        );
    }

    /// Signs a Zoho user in to the simulated browser: `/oauth/v2/auth` asks them for consent.
    pub fn sign_in(&mut self, zuid: &str, email: &str) {
        self.accounts.browser_user = Some(BrowserUser {
            zuid: zuid.into(),
            email: email.into(),
        });
    }

    /// Nobody is signed in to the simulated browser any more.
    pub fn sign_out(&mut self) {
        self.accounts.browser_user = None;
    }

    /// Makes the signed-in user reject (`true`) or accept (`false`, the default) the consent
    /// page of `/oauth/v2/auth`.
    pub fn set_deny_consent(&mut self, deny: bool) {
        self.accounts.deny_consent = deny;
    }

    /// Revokes a grant as the user or an admin can in Zoho: the refresh token and every access
    /// token issued from it stop working. Returns whether the grant existed.
    pub fn revoke_grant(&mut self, refresh_token: &str) -> bool {
        let existed = self.accounts.grants.remove(refresh_token).is_some();
        self.accounts
            .access
            .retain(|_, t| t.refresh_token != refresh_token);
        self.accounts.refresh_log.remove(refresh_token);
        existed
    }

    /// The grants a client holds (offline ones), sorted: (refresh token, zuid).
    pub fn grants(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .accounts
            .grants
            .iter()
            .filter(|(_, g)| g.offline)
            .map(|(rt, g)| (rt.clone(), g.zuid.clone()))
            .collect();
        out.sort();
        out
    }
}
