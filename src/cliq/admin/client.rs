//! The `CliqClient` calls of the administration APIs.

use serde_json::Value;

use super::defs::{BotDef, CommandDef, FunctionDef, HandlerDef};
use super::types::{
    BotInfo, ChannelInfo, ChannelMember, CliqUser, CommandInfo, FunctionInfo, HandlerInfo, bot_of,
    bot_path, channel_of, command_of, function_of, handler_of, invalid, json_of, member_of,
    merge_handlers, record, text, user_of,
};
use super::{MAX_PAGES, PAGE_LIMIT};
use crate::cliq::{CliqClient, CliqError};
use crate::zoho_http::RawResponse;

// ------------------------------------------------------------------- the calls

/// The two kinds of component that share the v3 handler endpoints.
#[derive(Clone, Copy)]
enum Component {
    Commands,
    Functions,
}

impl Component {
    fn segment(self) -> &'static str {
        match self {
            Component::Commands => "commands",
            Component::Functions => "functions",
        }
    }
}

impl CliqClient {
    async fn get_json(&self, segments: &[&str]) -> Result<(RawResponse, Value), CliqError> {
        let url = self.url(segments);
        let r = self
            .call(|auth| self.http.get(&url).header("Authorization", auth))
            .await?;
        let v = json_of(&r);
        Ok((r, v))
    }

    async fn send_json(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(RawResponse, Value), CliqError> {
        let url = self.url(segments);
        let r = self
            .call(|auth| {
                let b = self
                    .http
                    .request(method.clone(), &url)
                    .query(query)
                    .header("Authorization", auth);
                match body {
                    Some(body) => b.json(body),
                    None => b,
                }
            })
            .await?;
        let v = json_of(&r);
        Ok((r, v))
    }

    /// Every item of a v3 list, following `next_token`.
    async fn list_all(&self, segments: &[&str]) -> Result<Vec<Value>, CliqError> {
        let url = self.url(segments);
        let limit = PAGE_LIMIT.to_string();
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let r = self
                .call(|auth| {
                    let mut q = vec![("limit", limit.as_str())];
                    if let Some(t) = &token {
                        q.push(("next_token", t.as_str()));
                    }
                    self.http.get(&url).query(&q).header("Authorization", auth)
                })
                .await?;
            let v = json_of(&r);
            if let Some(items) = v.get("data").and_then(Value::as_array) {
                out.extend(items.iter().cloned());
            }
            match v.get("next_token").and_then(Value::as_str) {
                Some(t) if !t.is_empty() && token.as_deref() != Some(t) => {
                    token = Some(t.to_string())
                }
                _ => return Ok(out),
            }
        }
        Ok(out)
    }

    // ---------------------------------------------------------------- channels, users

    /// The channel with this unique name (`None`: Cliq says there is none).
    pub async fn channel_by_name(
        &self,
        unique_name: &str,
    ) -> Result<Option<ChannelInfo>, CliqError> {
        match self
            .get_json(&["api", "v2", "channelsbyname", unique_name])
            .await
        {
            Ok((r, v)) => {
                let mut c = channel_of(&record(v));
                if c.channel_id.is_empty() {
                    return Err(invalid(&r, "a channel_id"));
                }
                if c.unique_name.is_empty() {
                    c.unique_name = unique_name.to_string();
                }
                Ok(Some(c))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The members of a channel (by its `channel_id`).
    pub async fn channel_members(&self, channel_id: &str) -> Result<Vec<ChannelMember>, CliqError> {
        let (_, v) = self
            .get_json(&["api", "v2", "channels", channel_id, "members"])
            .await?;
        let list = v
            .get("members")
            .or_else(|| v.get("data"))
            .and_then(Value::as_array)
            .map(|a| a.iter().map(member_of).collect())
            .unwrap_or_default();
        Ok(list)
    }

    /// Whether the configured bot is a member of the channel (`false` when the channel
    /// does not exist). Read from the channel's members: see [`ChannelMember::is_bot`].
    pub async fn bot_in_channel(&self, unique_name: &str) -> Result<bool, CliqError> {
        let Some(channel) = self.channel_by_name(unique_name).await? else {
            return Ok(false);
        };
        let members = self.channel_members(&channel.channel_id).await?;
        Ok(members.iter().any(|m| m.is_bot(&self.bot)))
    }

    /// A Cliq user by zuid (or email), with their organisation (`None`: no such user). Only
    /// an error that names a user (`user_not_found`, `invalid_user`…) says there is none: a
    /// bare 404 may as well mean this Cliq has no such API, and is an error.
    pub async fn user(&self, id: &str) -> Result<Option<CliqUser>, CliqError> {
        match self.get_json(&["api", "v2", "users", id]).await {
            Ok((r, v)) => {
                let u = user_of(&record(v));
                if u.id.is_empty() {
                    return Err(invalid(&r, "a user id"));
                }
                Ok(Some(u))
            }
            Err(CliqError::Api { status, code, .. })
                if (400..500).contains(&status)
                    && code.contains("user")
                    && (code.contains("not_found")
                        || code.contains("not_exist")
                        || code.starts_with("invalid")
                        || code.starts_with("no_")) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    // ---------------------------------------------------------------- bots

    /// The bots the token's user can see.
    pub async fn list_bots(&self) -> Result<Vec<BotInfo>, CliqError> {
        let items = self.list_all(&["api", "v3", "bots"]).await?;
        Ok(items.iter().map(bot_of).collect())
    }

    /// The bot with this unique name, handlers included.
    pub async fn get_bot(&self, unique_name: &str) -> Result<Option<BotInfo>, CliqError> {
        let bots = self.list_bots().await?;
        Ok(bots.into_iter().find(|b| b.unique_name == unique_name))
    }

    /// Whether the configured bot (`cliq.bot`) exists.
    pub async fn bot_exists(&self) -> Result<bool, CliqError> {
        Ok(self.get_bot(&self.bot).await?.is_some())
    }

    /// Creates the bot, then its handlers. Cliq chooses the unique name (from the display
    /// name): compare the answer's `unique_name` with `cliq.bot`.
    pub async fn create_bot(&self, def: &BotDef) -> Result<BotInfo, CliqError> {
        let (r, v) = self
            .send_json(
                reqwest::Method::POST,
                &["api", "v3", "bots"],
                &[],
                Some(&def.create_body()),
            )
            .await?;
        let mut bot = bot_of(&record(v));
        if bot.id.is_empty() {
            return Err(invalid(&r, "the bot's id"));
        }
        let mut done = Vec::new();
        for h in &def.handlers {
            done.push(self.create_bot_handler(&bot.id, h).await?);
        }
        merge_handlers(&mut bot.handlers, done);
        Ok(bot)
    }

    /// Updates a bot's description, execution URL and channel participation (its display
    /// name and unique name are left alone). Handlers are not touched.
    pub async fn update_bot(&self, bot_id: &str, def: &BotDef) -> Result<BotInfo, CliqError> {
        let path = bot_path(bot_id);
        let (r, v) = self
            .send_json(
                reqwest::Method::PATCH,
                &["api", "v3", "bots", &path],
                &[],
                Some(&def.update_body()),
            )
            .await?;
        let bot = bot_of(&record(v));
        if bot.id.is_empty() {
            return Err(invalid(&r, "the bot's id"));
        }
        Ok(bot)
    }

    /// Deletes a bot (`false`: it was not there).
    pub async fn delete_bot(&self, bot_id: &str) -> Result<bool, CliqError> {
        let path = bot_path(bot_id);
        self.delete(&["api", "v3", "bots", &path], &[]).await
    }

    /// Adds a handler to a bot (a menu action each time for `menu_handler`).
    pub async fn create_bot_handler(
        &self,
        bot_id: &str,
        handler: &HandlerDef,
    ) -> Result<HandlerInfo, CliqError> {
        let path = bot_path(bot_id);
        let (_, v) = self
            .send_json(
                reqwest::Method::POST,
                &["api", "v3", "bots", &path, "handlers"],
                &[],
                Some(&handler.body(true)),
            )
            .await?;
        Ok(registered(handler, &record(v)))
    }

    /// The handler of a bot (`handler_id` picks one menu action); `None`: there is none.
    pub async fn get_bot_handler(
        &self,
        bot_id: &str,
        kind: &str,
        handler_id: Option<&str>,
    ) -> Result<Option<HandlerInfo>, CliqError> {
        let path = bot_path(bot_id);
        let query: Vec<(&str, &str)> = handler_id.map(|h| ("handler_id", h)).into_iter().collect();
        match self
            .send_json(
                reqwest::Method::GET,
                &["api", "v3", "bots", &path, "handlers", kind],
                &query,
                None,
            )
            .await
        {
            Ok((_, v)) => {
                let mut h = handler_of(&record(v));
                if h.kind.is_empty() {
                    h.kind = kind.to_string();
                }
                Ok(Some(h))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sets a bot handler's permissions (and a menu action's label and icon).
    pub async fn update_bot_handler(
        &self,
        bot_id: &str,
        handler: &HandlerDef,
        handler_id: Option<&str>,
    ) -> Result<HandlerInfo, CliqError> {
        let path = bot_path(bot_id);
        let query: Vec<(&str, &str)> = handler_id.map(|h| ("handler_id", h)).into_iter().collect();
        let (_, v) = self
            .send_json(
                reqwest::Method::PATCH,
                &["api", "v3", "bots", &path, "handlers", &handler.kind],
                &query,
                Some(&handler.body(false)),
            )
            .await?;
        let mut h = registered(handler, &record(v));
        if h.id.is_none() {
            h.id = handler_id.map(str::to_string);
        }
        Ok(h)
    }

    /// Removes a bot handler (`false`: it was not there).
    pub async fn delete_bot_handler(
        &self,
        bot_id: &str,
        kind: &str,
        handler_id: Option<&str>,
    ) -> Result<bool, CliqError> {
        let path = bot_path(bot_id);
        let query: Vec<(&str, &str)> = handler_id.map(|h| ("handler_id", h)).into_iter().collect();
        self.delete(&["api", "v3", "bots", &path, "handlers", kind], &query)
            .await
    }

    // ---------------------------------------------------------------- commands

    /// Every slash command the token's user can see.
    pub async fn list_commands(&self) -> Result<Vec<CommandInfo>, CliqError> {
        let items = self.list_all(&["api", "v3", "commands"]).await?;
        Ok(items.iter().map(command_of).collect())
    }

    /// Creates a command, then sets its handlers' permissions.
    pub async fn create_command(&self, def: &CommandDef) -> Result<CommandInfo, CliqError> {
        let (r, v) = self
            .send_json(
                reqwest::Method::POST,
                &["api", "v3", "commands"],
                &[],
                Some(&def.create_body()),
            )
            .await?;
        let mut c = command_of(&record(v));
        if c.id.is_empty() {
            return Err(invalid(&r, "the command's id"));
        }
        let done = self
            .set_handlers(Component::Commands, &c.id, &def.handlers)
            .await?;
        merge_handlers(&mut c.handlers, done);
        Ok(c)
    }

    /// Updates a command's hint, description, scope and execution URL, then its handlers.
    pub async fn update_command(
        &self,
        id: &str,
        def: &CommandDef,
    ) -> Result<CommandInfo, CliqError> {
        let (r, v) = self
            .send_json(
                reqwest::Method::PATCH,
                &["api", "v3", "commands", id],
                &[],
                Some(&def.update_body()),
            )
            .await?;
        let mut c = command_of(&record(v));
        if c.id.is_empty() {
            return Err(invalid(&r, "the command's id"));
        }
        let done = self
            .set_handlers(Component::Commands, id, &def.handlers)
            .await?;
        merge_handlers(&mut c.handlers, done);
        Ok(c)
    }

    /// Deletes a command (`false`: it was not there).
    pub async fn delete_command(&self, id: &str) -> Result<bool, CliqError> {
        self.delete(&["api", "v3", "commands", id], &[]).await
    }

    /// A command's handler (`None`: there is none).
    pub async fn get_command_handler(
        &self,
        id: &str,
        kind: &str,
    ) -> Result<Option<HandlerInfo>, CliqError> {
        self.get_handler(Component::Commands, id, kind).await
    }

    // ---------------------------------------------------------------- functions

    /// Every function the token's user defined.
    pub async fn list_functions(&self) -> Result<Vec<FunctionInfo>, CliqError> {
        let items = self.list_all(&["api", "v3", "functions"]).await?;
        Ok(items.iter().map(function_of).collect())
    }

    /// Creates a function, then sets its handlers' permissions.
    pub async fn create_function(&self, def: &FunctionDef) -> Result<FunctionInfo, CliqError> {
        let (r, v) = self
            .send_json(
                reqwest::Method::POST,
                &["api", "v3", "functions"],
                &[],
                Some(&def.create_body()),
            )
            .await?;
        let mut f = function_of(&record(v));
        if f.id.is_empty() {
            return Err(invalid(&r, "the function's id"));
        }
        let done = self
            .set_handlers(Component::Functions, &f.id, &def.handlers)
            .await?;
        merge_handlers(&mut f.handlers, done);
        Ok(f)
    }

    /// Updates a function's description and execution URL, then its handlers.
    pub async fn update_function(
        &self,
        id: &str,
        def: &FunctionDef,
    ) -> Result<FunctionInfo, CliqError> {
        let (r, v) = self
            .send_json(
                reqwest::Method::PATCH,
                &["api", "v3", "functions", id],
                &[],
                Some(&def.update_body()),
            )
            .await?;
        let mut f = function_of(&record(v));
        if f.id.is_empty() {
            return Err(invalid(&r, "the function's id"));
        }
        let done = self
            .set_handlers(Component::Functions, id, &def.handlers)
            .await?;
        merge_handlers(&mut f.handlers, done);
        Ok(f)
    }

    /// Deletes a function (`false`: it was not there).
    pub async fn delete_function(&self, id: &str) -> Result<bool, CliqError> {
        self.delete(&["api", "v3", "functions", id], &[]).await
    }

    /// A function's handler (`None`: there is none).
    pub async fn get_function_handler(
        &self,
        id: &str,
        kind: &str,
    ) -> Result<Option<HandlerInfo>, CliqError> {
        self.get_handler(Component::Functions, id, kind).await
    }

    // ---------------------------------------------------------------- shared

    async fn delete(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<bool, CliqError> {
        match self
            .send_json(reqwest::Method::DELETE, segments, query, None)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn get_handler(
        &self,
        component: Component,
        id: &str,
        kind: &str,
    ) -> Result<Option<HandlerInfo>, CliqError> {
        match self
            .get_json(&["api", "v3", component.segment(), id, "handlers", kind])
            .await
        {
            Ok((_, v)) => {
                let data = record(v);
                let mut h = handler_of(&data);
                // Command and function handlers name their type in `name`.
                h.kind = text(&data, &["type"])
                    .filter(|t| t.ends_with("_handler"))
                    .unwrap_or_else(|| kind.to_string());
                h.name = None;
                Ok(Some(h))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Gives each handler its permissions: the default handler exists once the component
    /// does (PATCH); any other is created (POST).
    async fn set_handlers(
        &self,
        component: Component,
        id: &str,
        handlers: &[HandlerDef],
    ) -> Result<Vec<HandlerInfo>, CliqError> {
        let seg = component.segment();
        let mut done = Vec::new();
        for h in handlers {
            let patched = self
                .send_json(
                    reqwest::Method::PATCH,
                    &["api", "v3", seg, id, "handlers", &h.kind],
                    &[],
                    Some(&h.body(false)),
                )
                .await;
            match patched {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {
                    self.send_json(
                        reqwest::Method::POST,
                        &["api", "v3", seg, id, "handlers"],
                        &[],
                        Some(&h.body(true)),
                    )
                    .await?;
                }
                Err(e) => return Err(e),
            }
            done.push(HandlerInfo {
                kind: h.kind.clone(),
                id: None,
                name: h.name.clone(),
                icon: h.icon.clone(),
                permissions: h.permissions.clone(),
            });
        }
        Ok(done)
    }
}

/// What Cliq says it registered for `def` (the definition fills what it leaves out).
fn registered(def: &HandlerDef, v: &Value) -> HandlerInfo {
    let mut h = handler_of(v);
    if h.kind.is_empty() || !h.kind.ends_with("_handler") {
        h.kind = def.kind.clone();
    }
    if h.name.is_none() {
        h.name = def.name.clone();
    }
    if h.icon.is_none() {
        h.icon = def.icon.clone();
    }
    if h.permissions.is_empty() {
        h.permissions = def.permissions.clone();
    }
    h
}
