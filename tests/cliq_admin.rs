//! Cliq's administration APIs (channels, users, bot, commands, functions) against the
//! simulator: what `install`, `doctor` and `uninstall` rely on.

mod common;

use common::sim::Zoho;
use deskcliq::cliq::CliqError;
use deskcliq::cliq::Message;
use deskcliq::cliq::admin::{
    BotDef, CommandDef, Definitions, FunctionDef, HandlerDef, MENU_ACTIONS,
};
use deskcliq::sim;

const CALLBACK: &str = "https://deskcliq.example.com/cliq/callback";

fn defs() -> Definitions {
    Definitions::deskcliq(CALLBACK, sim::BOT)
}

fn code(e: &CliqError) -> &str {
    match e {
        CliqError::Api { code, .. } => code,
        _ => "",
    }
}

#[actix_rt::test]
async fn a_channel_is_found_by_unique_name_or_is_none() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    let desk = cliq.channel_by_name("desk").await.unwrap().unwrap();
    assert_eq!(desk.unique_name, "desk");
    assert_eq!(desk.channel_id, "O1000000000001");
    assert_eq!(desk.chat_id.as_deref(), Some("CT_1000000000001"));
    assert_eq!(cliq.channel_by_name("nosuch").await.unwrap(), None);
    // Deleted channels are gone.
    assert!(z.sim.with(|st| st.delete_channel("desk")));
    assert_eq!(cliq.channel_by_name("desk").await.unwrap(), None);
    assert!(!cliq.bot_in_channel("desk").await.unwrap());
}

#[actix_rt::test]
async fn the_bot_is_seen_among_a_channels_members() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    assert!(cliq.bot_in_channel("desk").await.unwrap());
    let desk = cliq.channel_by_name("desk").await.unwrap().unwrap();
    let members = cliq.channel_members(&desk.channel_id).await.unwrap();
    assert!(members.iter().any(|m| m.user_id == "70000001"));
    assert!(members.iter().any(|m| m.is_bot(sim::BOT)));

    assert!(z.sim.with(|st| st.remove_bot_from_channel("desk")));
    assert!(!cliq.bot_in_channel("desk").await.unwrap());
    cliq.associate_bot("desk").await.unwrap();
    assert!(cliq.bot_in_channel("desk").await.unwrap());

    cliq.create_channel("Billing", "請求").await.unwrap();
    assert!(!cliq.bot_in_channel("billing").await.unwrap());
    cliq.associate_bot("billing").await.unwrap();
    assert!(cliq.bot_in_channel("billing").await.unwrap());
}

#[actix_rt::test]
async fn users_come_with_their_organisation() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    for zuid in ["55667788", "55667789", "55667790"] {
        let u = cliq.user(zuid).await.unwrap().unwrap();
        assert_eq!(u.id, zuid);
        assert!(u.in_org(sim::CLIQ_ORG_ID), "{u:?}");
    }
    let sato = cliq.user("sato@example.co.jp").await.unwrap().unwrap();
    assert_eq!(sato.id, "55667788");
    assert_eq!(sato.first_name.as_deref(), Some("Hanako"));

    let foreign = cliq.user(sim::FOREIGN_CLIQ_ZUID).await.unwrap().unwrap();
    assert_eq!(
        foreign.organization_id.as_deref(),
        Some(sim::OTHER_CLIQ_ORG_ID)
    );
    assert!(!foreign.in_org(sim::CLIQ_ORG_ID));

    z.sim
        .with(|st| st.add_foreign_cliq_user("55660001", "lee@other.example"));
    let lee = cliq.user("55660001").await.unwrap().unwrap();
    assert!(lee.in_org(sim::OTHER_CLIQ_ORG_ID));

    assert_eq!(cliq.user("99999999").await.unwrap(), None);
    assert!(z.sim.with(|st| st.remove_cliq_user("55667790")));
    assert_eq!(cliq.user("55667790").await.unwrap(), None);
}

#[actix_rt::test]
async fn the_seeded_bot_is_found_and_can_be_pointed_at_deskcliq() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    assert!(cliq.bot_exists().await.unwrap());
    let bot = cliq.get_bot(sim::BOT).await.unwrap().unwrap();
    assert_eq!(bot.name, "Deskbot");
    assert_eq!(bot.execution_type.as_deref(), Some("webhook"));
    assert!(bot.handlers.is_empty());
    assert_eq!(cliq.get_bot("nosuchbot").await.unwrap(), None);

    let mut def = defs().bot;
    def.execution_url = "https://other.example.com/cliq/callback".into();
    let updated = cliq.update_bot(&bot.id, &def).await.unwrap();
    assert_eq!(
        updated.execution_url.as_deref(),
        Some("https://other.example.com/cliq/callback")
    );
    assert_eq!(updated.unique_name, sim::BOT);
    let err = cliq.update_bot("99", &def).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[actix_rt::test]
async fn a_missing_bot_is_created_with_its_handlers_and_can_post() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    assert!(z.sim.with(|st| st.delete_bot(sim::BOT)));
    assert!(!cliq.bot_exists().await.unwrap());

    let def = defs().bot;
    let bot = cliq.create_bot(&def).await.unwrap();
    assert_eq!(bot.unique_name, sim::BOT, "Cliq derives it from Deskbot");
    assert!(bot.has_handler("message_handler"));
    for action in MENU_ACTIONS {
        let h = bot.menu_action(action).unwrap();
        assert!(h.id.is_some());
        assert_eq!(h.permissions, ["chat", "user"]);
    }
    let kept = z.sim.with(|st| st.cliq_bot(sim::BOT).cloned()).unwrap();
    assert_eq!(kept.execution_url.as_deref(), Some(CALLBACK));
    assert_eq!(kept.handlers.len(), 4);
    assert_eq!(kept.handlers[0].permissions, ["chat", "message", "user"]);

    // A second bot with the same name is refused, and it is not a refusal of permission.
    let err = cliq.create_bot(&def).await.unwrap_err();
    assert_eq!(code(&err), "bot_name_already_exists");
    assert!(!err.is_refusal());

    // The new bot is found by listing and can be associated and post.
    assert!(cliq.bot_exists().await.unwrap());
    cliq.associate_bot("desk").await.unwrap();
    cliq.post_to_channel("desk", &Message::new("hello"))
        .await
        .unwrap();
}

#[actix_rt::test]
async fn bot_handlers_are_read_updated_and_deleted() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    let bot = cliq.get_bot(sim::BOT).await.unwrap().unwrap();
    assert_eq!(
        cliq.get_bot_handler(&bot.id, "message_handler", None)
            .await
            .unwrap(),
        None
    );
    let message = HandlerDef::new("message_handler", &["chat", "user"]);
    cliq.create_bot_handler(&bot.id, &message).await.unwrap();
    let again = cliq
        .create_bot_handler(&bot.id, &message)
        .await
        .unwrap_err();
    assert_eq!(code(&again), "execution_handler_create_failed");
    let due = cliq
        .create_bot_handler(&bot.id, &HandlerDef::menu_action("Due Today"))
        .await
        .unwrap();
    let open = cliq
        .create_bot_handler(&bot.id, &HandlerDef::menu_action("Open Tickets"))
        .await
        .unwrap();
    assert_eq!(open.name.as_deref(), Some("Open Tickets"));

    let read = cliq
        .get_bot_handler(&bot.id, "message_handler", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.permissions, ["chat", "user"]);
    let full = HandlerDef::new("message_handler", &["chat", "message", "user"]);
    cliq.update_bot_handler(&bot.id, &full, None).await.unwrap();
    let read = cliq
        .get_bot_handler(&bot.id, "message_handler", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.permissions, ["chat", "message", "user"]);

    // Several menu actions: one is picked by its handler id.
    let err = cliq
        .get_bot_handler(&bot.id, "menu_handler", None)
        .await
        .unwrap_err();
    assert_eq!(code(&err), "execution_handler_data_required");
    let got = cliq
        .get_bot_handler(&bot.id, "menu_handler", due.id.as_deref())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.name.as_deref(), Some("Due Today"));

    // Cliq sends no message to menu actions: asking for it is invalid.
    let bad = HandlerDef {
        name: Some("Overdue Tickets".into()),
        ..HandlerDef::new("menu_handler", &["message"])
    };
    let err = cliq.create_bot_handler(&bot.id, &bad).await.unwrap_err();
    assert_eq!(code(&err), "execution_handler_data_invalid");

    assert!(
        cliq.delete_bot_handler(&bot.id, "menu_handler", due.id.as_deref())
            .await
            .unwrap()
    );
    assert!(
        !cliq
            .delete_bot_handler(&bot.id, "menu_handler", due.id.as_deref())
            .await
            .unwrap()
    );
    assert!(
        cliq.delete_bot_handler(&bot.id, "message_handler", None)
            .await
            .unwrap()
    );
    let left = cliq.get_bot(sim::BOT).await.unwrap().unwrap();
    assert_eq!(left.handlers.len(), 1);
    assert!(left.menu_action("Open Tickets").is_some());
}

#[actix_rt::test]
async fn a_deluge_bot_takes_no_webhook_permissions() {
    let z = Zoho::start().await;
    z.sim.with(|st| {
        let b = st.cliq.bot_records.get_mut(sim::BOT).unwrap();
        b.execution_type = "deluge".into();
        b.execution_url = None;
    });
    let cliq = z.cliq();
    let bot = cliq.get_bot(sim::BOT).await.unwrap().unwrap();
    let err = cliq
        .create_bot_handler(&bot.id, &HandlerDef::new("message_handler", &["chat"]))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "execution_handler_data_invalid");
    let err = cliq.update_bot(&bot.id, &defs().bot).await.unwrap_err();
    assert_eq!(code(&err), "execution_url_not_allowed");
}

#[actix_rt::test]
async fn commands_are_created_listed_updated_and_deleted() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    assert!(cliq.list_commands().await.unwrap().is_empty());
    for def in &defs().commands {
        let c = cliq.create_command(def).await.unwrap();
        assert_eq!(c.name, def.name);
        assert_eq!(c.execution_type.as_deref(), Some("webhook"));
        assert_eq!(c.execution_url.as_deref(), Some(CALLBACK));
    }
    let listed = cliq.list_commands().await.unwrap();
    let names: Vec<_> = listed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["ticket", "pendingtickets", "deskstatus", "deskcliq"]
    );
    // The execution handler exists and forwards the chat and the user.
    let ticket = &listed[0];
    let h = cliq
        .get_command_handler(&ticket.id, "execution_handler")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.kind, "execution_handler");
    assert_eq!(h.permissions, ["chat", "user"]);
    assert_eq!(
        cliq.get_command_handler(&ticket.id, "suggestion_handler")
            .await
            .unwrap(),
        None
    );

    let err = cliq.create_command(&defs().commands[0]).await.unwrap_err();
    assert_eq!(code(&err), "command_name_already_exists");

    let mut moved = defs().commands[0].clone();
    moved.execution_url = "https://new.example.com/cliq/callback".into();
    moved.hint = "new hint".into();
    let c = cliq.update_command(&ticket.id, &moved).await.unwrap();
    assert_eq!(
        c.execution_url.as_deref(),
        Some("https://new.example.com/cliq/callback")
    );
    let kept = z.sim.with(|st| st.cliq_command("ticket").cloned()).unwrap();
    assert_eq!(kept.hint, "new hint");

    assert!(cliq.delete_command(&ticket.id).await.unwrap());
    assert!(!cliq.delete_command(&ticket.id).await.unwrap());
    let err = cliq.update_command(&ticket.id, &moved).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(cliq.list_commands().await.unwrap().len(), 3);
}

#[actix_rt::test]
async fn a_long_command_list_is_read_across_pages() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    let letters = |n: usize| -> String {
        let a = (b'a' + (n / 26) as u8) as char;
        let b = (b'a' + (n % 26) as u8) as char;
        format!("cmd{a}{b}")
    };
    for n in 0..55 {
        cliq.create_command(&CommandDef::webhook(&letters(n), "hint", "", CALLBACK))
            .await
            .unwrap();
    }
    let all = cliq.list_commands().await.unwrap();
    assert_eq!(all.len(), 55);
    assert_eq!(all[54].name, letters(54));
}

#[actix_rt::test]
async fn an_invalid_command_is_refused_as_invalid_not_as_forbidden() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    let err = cliq
        .create_command(&CommandDef::webhook("Ticket2", "hint", "", CALLBACK))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "command_not_valid");
    assert!(!err.is_refusal() && !err.is_not_found());
    let mut no_url = CommandDef::webhook("ticket", "hint", "", CALLBACK);
    no_url.execution_url = "not a url".into();
    let err = cliq.create_command(&no_url).await.unwrap_err();
    assert_eq!(code(&err), "invalid_inputs");
}

#[actix_rt::test]
async fn the_button_function_is_created_updated_and_deleted() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    assert!(cliq.list_functions().await.unwrap().is_empty());
    let def = defs().functions[0].clone();
    let f = cliq.create_function(&def).await.unwrap();
    assert_eq!(f.name, "deskaction");
    assert_eq!(f.function_type.as_deref(), Some("button"));
    let h = cliq
        .get_function_handler(&f.id, "button_handler")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.permissions, ["chat", "message", "user"]);
    let err = cliq.create_function(&def).await.unwrap_err();
    assert_eq!(code(&err), "function_name_already_exists");

    // A form function's default handler is the submit handler.
    let form = FunctionDef::form("deskform", "forms", CALLBACK);
    let ff = cliq.create_function(&form).await.unwrap();
    let h = cliq
        .get_function_handler(&ff.id, "form_submit_handler")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.permissions, ["chat", "message", "user"]);

    let mut moved = def.clone();
    moved.execution_url = "https://new.example.com/cliq/callback".into();
    let updated = cliq.update_function(&f.id, &moved).await.unwrap();
    assert_eq!(
        updated.execution_url.as_deref(),
        Some("https://new.example.com/cliq/callback")
    );
    assert_eq!(cliq.list_functions().await.unwrap().len(), 2);
    assert!(cliq.delete_function(&f.id).await.unwrap());
    assert!(!cliq.delete_function(&f.id).await.unwrap());
    assert_eq!(
        cliq.get_function_handler(&f.id, "button_handler")
            .await
            .unwrap(),
        None
    );
}

#[actix_rt::test]
async fn refused_apis_are_told_from_other_errors() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    z.sim.with(|st| st.refuse_cliq_writes("/api/v3/commands"));
    // Reads still work, changes are refused.
    assert!(cliq.list_commands().await.unwrap().is_empty());
    let err = cliq.create_command(&defs().commands[0]).await.unwrap_err();
    assert!(err.is_refusal(), "{err}");
    assert!(matches!(&err, CliqError::Api { status: 403, .. }));

    z.sim.with(|st| st.refuse_cliq_api("/api/v3/bots"));
    let err = cliq.get_bot(sim::BOT).await.unwrap_err();
    assert!(err.is_refusal(), "{err}");
    let err = cliq.create_bot(&defs().bot).await.unwrap_err();
    assert!(err.is_refusal(), "{err}");
    // Posting as the bot is not an administration API: it still works.
    cliq.post_to_channel("desk", &Message::new("still here"))
        .await
        .unwrap();

    z.sim.with(|st| st.refuse_cliq_api("/handlers"));
    z.sim.with(|st| st.allow_cliq_api());
    z.sim.with(|st| st.refuse_cliq_api("/handlers"));
    let err = cliq.create_command(&defs().commands[0]).await.unwrap_err();
    assert!(err.is_refusal(), "the handler step is refused: {err}");

    z.sim.with(|st| st.allow_cliq_api());
    z.sim.with(|st| st.refuse_cliq_api("/api/v2/users"));
    assert!(cliq.user("55667788").await.unwrap_err().is_refusal());
    z.sim
        .with(|st| st.refuse_cliq_api("/api/v2/channelsbyname"));
    assert!(cliq.channel_by_name("desk").await.unwrap_err().is_refusal());
    z.sim.with(|st| st.allow_cliq_api());
    assert!(cliq.user("55667788").await.unwrap().is_some());
}

#[actix_rt::test]
async fn the_definitions_are_what_the_api_accepts() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    z.sim.with(|st| st.delete_bot(sim::BOT));
    let d = defs();
    let bot: BotDef = d.bot.clone();
    cliq.create_bot(&bot).await.unwrap();
    for c in &d.commands {
        cliq.create_command(c).await.unwrap();
    }
    for f in &d.functions {
        cliq.create_function(f).await.unwrap();
    }
    let v = d.to_json();
    assert_eq!(v["commands"].as_array().unwrap().len(), 4);
    assert_eq!(
        v["commands"][0]["handlers"][0]["permissions"],
        serde_json::json!(["chat", "user"])
    );
    assert_eq!(v["functions"][0]["handlers"][0]["type"], "button_handler");
    z.sim.with(|st| {
        assert_eq!(st.cliq.commands.len(), 4);
        assert!(st.cliq_function("deskaction").is_some());
        assert_eq!(st.cliq_bot(sim::BOT).unwrap().handlers.len(), 4);
    });
}
