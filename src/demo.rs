//! `deskcliq demo`: the daemon against the built-in simulator, with a short scripted story,
//! printing every Cliq message as it lands. No account, no config file; ends by itself.

use std::io::Write as _;
use std::time::Duration;

use crate::app::App;
use crate::clock::Clock;
use crate::config::{Config, LoadEnv, Locale};
use crate::sim::{self, CliqRecord, CliqTarget, NewTicket, Simulator, TicketPatch};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo: {0}")]
    Failed(String),
}

fn fail(e: impl std::fmt::Display) -> DemoError {
    DemoError::Failed(e.to_string())
}

const SUPPORT: &str = "1892000000082069";
const BILLING: &str = "1892000000082070";
const SATO: &str = "1892000000056007";
const SUZUKI: &str = "1892000000056008";
const KIM: &str = "1892000000056009";
const TOKEN: &str = "demo-webhook-token-0123456789";

/// Terminal columns a string takes (East Asian wide characters take two).
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1FAFF => 2,
            _ => 1,
        })
        .sum()
}

fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

/// One Cliq message as terminal text: target, title, text, slides as aligned tables,
/// buttons as `[label]`.
pub fn render(r: &CliqRecord, agents: &[(String, String)]) -> String {
    let who = |zuid: &str| {
        agents
            .iter()
            .find(|(z, _)| z == zuid)
            .map(|(_, n)| format!("{n} ({zuid})"))
            .unwrap_or_else(|| zuid.to_string())
    };
    let target = match &r.target {
        CliqTarget::Channel(c) => format!("#{c}"),
        CliqTarget::Dm(users) => format!(
            "DM to {}",
            users.iter().map(|u| who(u)).collect::<Vec<_>>().join(", ")
        ),
    };
    render_message(&target, &r.message)
}

/// A cell's `[text](url)` as its text (a terminal shows no links).
fn link_text(cell: &str) -> String {
    match cell.strip_prefix('[').and_then(|c| c.split_once("](")) {
        Some((text, _)) => text.to_string(),
        None => cell.to_string(),
    }
}

/// `m` under a `header` line: card title, text, slides and buttons.
fn render_message(header: &str, m: &serde_json::Value) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "── {header} {}\n",
        "─".repeat(60usize.saturating_sub(width(header)))
    ));
    if let Some(title) = m["card"]["title"].as_str() {
        out.push_str(&format!("  {title}\n"));
    }
    if let Some(text) = m["text"].as_str() {
        for line in text.lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    for slide in m["slides"].as_array().into_iter().flatten() {
        match slide["type"].as_str() {
            Some("label") => {
                let pairs: Vec<(String, String)> = slide["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|o| o.as_object())
                    .flat_map(|o| {
                        o.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    })
                    .collect();
                let w = pairs.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
                for (k, v) in pairs {
                    out.push_str(&format!("    {}  {v}\n", pad(&k, w)));
                }
            }
            Some("table") => {
                let headers: Vec<String> = slide["data"]["headers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h.as_str().map(str::to_string))
                    .collect();
                let rows: Vec<Vec<String>> = slide["data"]["rows"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|row| {
                        headers
                            .iter()
                            .map(|h| link_text(row[h].as_str().unwrap_or("")))
                            .collect()
                    })
                    .collect();
                let widths: Vec<usize> = headers
                    .iter()
                    .enumerate()
                    .map(|(i, h)| {
                        rows.iter()
                            .map(|r| width(&r[i]))
                            .chain([width(h)])
                            .max()
                            .unwrap_or(0)
                    })
                    .collect();
                let line = |cells: &[String]| {
                    cells
                        .iter()
                        .zip(&widths)
                        .map(|(c, w)| pad(c, *w))
                        .collect::<Vec<_>>()
                        .join("  ")
                };
                out.push_str(&format!("    {}\n", line(&headers)));
                for r in &rows {
                    out.push_str(&format!("    {}\n", line(r)));
                }
            }
            Some("text") => {
                if let Some(t) = slide["data"].as_str() {
                    out.push_str(&format!("    “{t}”\n"));
                }
            }
            _ => {}
        }
    }
    let buttons: Vec<String> = m["buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["label"].as_str().map(|l| format!("[{l}]")))
        .collect();
    if !buttons.is_empty() {
        out.push_str(&format!("  {}\n", buttons.join(" ")));
    }
    out
}

/// Prints the messages that landed since the last call, for `wait`.
async fn show(sim: &Simulator, agents: &[(String, String)], printed: &mut usize, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let msgs = sim.cliq_messages();
        for m in msgs.iter().skip(*printed) {
            print!("{}", render(m, agents));
        }
        *printed = msgs.len();
        let _ = std::io::stdout().flush();
        if tokio::time::Instant::now() >= deadline {
            return;
        }
    }
}

/// Runs the demo; `fast` shortens the pauses (for tests).
pub async fn run(locale: Locale, fast: bool) -> Result<(), DemoError> {
    let pause = if fast {
        Duration::from_millis(150)
    } else {
        Duration::from_millis(1500)
    };
    let clock = Clock::manual(chrono::Utc::now());
    let sim = Simulator::start(clock.clone()).await.map_err(fail)?;
    sim.with(|st| {
        st.add_channel("support", true);
        st.add_channel("billing", true);
    });
    let dir = std::env::temp_dir().join(format!("deskcliq-demo-{}", std::process::id()));
    let webhook_id = sim.with(|st| st.desk.new_id());
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
public_url = "https://deskcliq.example.com"
[storage]
path = "{state}"
secret_key = "demo-secret-key-0123456789abcdef0123"
[zoho]
data_center = "jp"
{urls}client_id = "{cid}"
client_secret = "{cs}"
refresh_token = "{rt}"
[desk]
org_id = "{org}"
webhook_token = "{TOKEN}"
webhook_id = "{webhook_id}"
[cliq]
org_id = "{cliq}"
public_key = """{cliq_key}"""
[org]
timezone = "Asia/Tokyo"
locale = "{locale}"
[[departments]]
id = "{SUPPORT}"
name = "Support"
channel = "support"
[[departments]]
id = "{BILLING}"
name = "Billing"
channel = "billing"
[limits]
cliq_posts_per_minute = 10
"#,
        state = dir.join("state").display(),
        urls = sim.config_urls(),
        cid = sim::CLIENT_ID,
        cs = sim::CLIENT_SECRET,
        rt = sim::SERVICE_REFRESH_TOKEN,
        org = sim::DESK_ORG_ID,
        cliq = sim::CLIQ_ORG_ID,
        cliq_key = sim::CLIQ_EXTENSION_PUBLIC_KEY,
        locale = locale.as_str(),
    );
    let config =
        Config::parse(&text, &dir.join("config.toml"), &LoadEnv::default()).map_err(fail)?;
    let app = App::start(config, clock.clone()).await.map_err(fail)?;
    let url = format!("http://{}/webhooks/desk/{TOKEN}", app.addrs[0]);
    sim.with(|st| st.add_deskcliq_webhook(&webhook_id, url, clock.now()));
    let agents: Vec<(String, String)> = sim.with(|st| {
        st.desk
            .agents
            .iter()
            .map(|a| (a.zuid.clone(), a.name.clone()))
            .collect()
    });
    for _ in 0..200 {
        if app.router.directory.get().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ja = locale == Locale::Ja;
    let say = |en: &str, jp: &str| {
        println!("\n▶ {}", if ja { jp } else { en });
        let _ = std::io::stdout().flush();
    };
    let mut printed = 0;
    println!(
        "deskcliq demo: the daemon against a simulated Zoho Desk and Cliq (nothing leaves this machine)."
    );
    say(
        "A customer writes in: a new, unassigned ticket goes to the department's channel.",
        "顧客から問い合わせ: 未割り当ての新しいチケットは部門のチャネルへ。",
    );
    let t = sim.create_ticket(NewTicket {
        subject: if ja {
            "プリンターから煙が出ています".into()
        } else {
            "The printer is smoking".into()
        },
        department_id: SUPPORT.into(),
        contact_email: "customer@example.com".into(),
        priority: Some("High".into()),
        due_date: Some(clock.now() + chrono::Duration::hours(4)),
        ..Default::default()
    });
    show(&sim, &agents, &mut printed, pause).await;
    say(
        "Alex Kim puts it on hold: the channel hears of it.",
        "Alex Kim がステータスを保留に: チャネルに通知。",
    );
    clock.advance(chrono::Duration::seconds(30));
    sim.update_ticket(
        &t.id,
        TicketPatch {
            status: Some("On Hold".into()),
            ..Default::default()
        },
        Some(KIM),
    );
    show(&sim, &agents, &mut printed, pause).await;
    say(
        "Alex assigns it to Hanako Sato: from now on she hears of it by DM, not the channel.",
        "Alex が Hanako Sato に割り当て: 以後はチャネルではなく本人への DM。",
    );
    sim.update_ticket(
        &t.id,
        TicketPatch {
            assignee_id: Some(Some(SATO.into())),
            ..Default::default()
        },
        Some(KIM),
    );
    show(&sim, &agents, &mut printed, pause).await;
    say(
        "Taro Suzuki comments and mentions Alex: Sato (the owner) and Alex (mentioned) get DMs.",
        "Taro Suzuki がコメントで Alex をメンション: 担当の Sato とメンションされた Alex に DM。",
    );
    sim.add_comment(
        &t.id,
        SUZUKI,
        "zsu[@user:55667790]zsu {@all} could you check the toner? [see](https://example.com)",
        false,
    );
    show(&sim, &agents, &mut printed, pause).await;
    say(
        "Sato changes the status of her own ticket: no notification (she made the change).",
        "Sato が自分のチケットのステータスを変更: 本人の変更なので通知なし。",
    );
    sim.update_ticket(
        &t.id,
        TicketPatch {
            status: Some("Open".into()),
            ..Default::default()
        },
        Some(SATO),
    );
    show(&sim, &agents, &mut printed, pause).await;
    say(
        "The customer rates the reply: a DM to Sato (ratings are polled).",
        "顧客が評価: Sato に DM（評価はポーリングで取得）。",
    );
    clock.advance(chrono::Duration::minutes(1));
    let now = clock.now();
    sim.with(|st| {
        st.add_rating(
            &t.id,
            "good",
            Some(if ja {
                "対応が早くて助かりました"
            } else {
                "Quick and kind, thank you"
            }),
            now,
        )
    });
    let _ = crate::pipeline::poll_once(&app.router).await;
    show(&sim, &agents, &mut printed, pause).await;
    say(
        "Sato types /ticket in #support: only she sees the answer. She clicks Post here: the bot posts it to the channel.",
        "Sato が #support で /ticket: 回答は本人だけに表示。「ここに投稿」でボットがチャネルに投稿。",
    );
    let callback = format!("http://{}/cliq/callback", app.addrs[0]);
    let sato = sim::CliqUser::new(
        "55667788",
        "sato@example.co.jp",
        if ja { "ja" } else { "en" },
    );
    let channel = sim::ChatRef::channel("support");
    let ticket_cmd = sim::Invocation::Command {
        name: "ticket".into(),
        arguments: String::new(),
    };
    let (_, answer) = sim.invoke(&callback, &ticket_cmd, &sato, &channel).await;
    let only = if ja {
        "Hanako Sato だけに表示"
    } else {
        "seen by Hanako Sato only"
    };
    print!("{}", render_message(only, &answer["output"]));
    let key = answer["output"]["buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|b| b["key"].as_str().filter(|k| k.starts_with("post:")))
        .map(str::to_string);
    if let Some(key) = key {
        let (_, banner) = sim
            .invoke(&callback, &sim::Invocation::Button(key), &sato, &channel)
            .await;
        println!(
            "  ({})",
            banner["output"]["text"].as_str().unwrap_or_default()
        );
    }
    show(&sim, &agents, &mut printed, pause).await;
    say(
        "A burst of 25 tickets in Billing, with a budget of 10 posts a minute: coalesced into a summary, nothing dropped.",
        "Billing に 25 件が一度に: 1 分あたり 10 件の予算内でまとめて投稿、取りこぼしなし。",
    );
    for n in 1..=25 {
        sim.create_ticket(NewTicket {
            subject: if ja {
                format!("請求書の再発行 {n}")
            } else {
                format!("Invoice copy {n}")
            },
            department_id: BILLING.into(),
            contact_email: format!("c{n}@example.com"),
            ..Default::default()
        });
    }
    show(&sim, &agents, &mut printed, pause * 3).await;
    // A minute at a time until everything reached Cliq (the budget refills each minute).
    for _ in 0..30 {
        let store = &app.store;
        let idle = store
            .tree::<u64, serde_json::Value>(crate::store::TreeName::Inbox)
            .is_empty()
            .unwrap_or(true)
            && store
                .tree::<u64, serde_json::Value>(crate::store::TreeName::Outbox)
                .is_empty()
                .unwrap_or(true)
            && sim.pending_deliveries() == 0;
        if idle {
            break;
        }
        clock.advance(chrono::Duration::seconds(61));
        show(&sim, &agents, &mut printed, pause).await;
    }
    show(&sim, &agents, &mut printed, pause).await;
    let total = sim.cliq_messages().len();
    println!(
        "\n{}",
        if ja {
            format!("デモ終了: Cliq へのメッセージ {total} 件。")
        } else {
            format!("Demo finished: {total} messages reached Cliq.")
        }
    );
    app.stop().await.map_err(fail)?;
    sim.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
