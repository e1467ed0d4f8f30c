//! Command-line administration: `user list|disable|enable|reset-password`,
//! `team add|list|add-member|remove-member`, and `audit verify`. Changes are audited
//! with the actor `cli`.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::audit::Who;
use crate::auth::accounts::{self, AdminError, UserPatch};
use crate::clock::Clock;
use crate::config::Config;
use crate::storage::{Db, accounts as store};

#[derive(Subcommand, Debug)]
pub enum TeamCommand {
    /// Create a team.
    Add { name: String },
    /// List teams and their members.
    List,
    /// Put a user in a team.
    AddMember { team: String, user: String },
    /// Take a user out of a team.
    RemoveMember { team: String, user: String },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain of the whole audit trail; names the first bad row.
    Verify,
}

async fn open(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url(), 2).await?;
    db.migrate().await?;
    Ok(db)
}

fn admin(e: AdminError) -> anyhow::Error {
    match e {
        AdminError::Internal(e) => e,
        other => anyhow::anyhow!("{other}"),
    }
}

pub async fn list_users(config: &Config) -> anyhow::Result<()> {
    let db = open(config).await?;
    for a in store::list(&db).await? {
        let state = if a.disabled { "disabled" } else { "active" };
        println!("{}\t{}\t{}\t{}\t{}", a.username, a.role, state, a.teams.join(","), a.id);
    }
    Ok(())
}

pub async fn set_disabled(config: &Config, user: &str, disabled: bool) -> anyhow::Result<()> {
    let db = open(config).await?;
    let patch = UserPatch { disabled: Some(disabled), ..Default::default() };
    let a =
        accounts::update_user(&db, &Who::command_line(), user, patch, Clock::system().now_ms()).await.map_err(admin)?;
    println!("{} is {}", a.username, if a.disabled { "disabled; their tokens are revoked" } else { "enabled" });
    Ok(())
}

/// Reads a new password from standard input (first line).
/// Revokes the user's API tokens too unless `keep_tokens`.
pub async fn reset_password(config: &Config, user: &str, keep_tokens: bool) -> anyhow::Result<()> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).context("cannot read the password from standard input")?;
    let password = input.lines().next().unwrap_or_default().to_string();
    let db = open(config).await?;
    let done =
        accounts::set_password(&db, &Who::command_line(), user, password, !keep_tokens, Clock::system().now_ms())
            .await
            .map_err(admin)?;
    println!(
        "password changed for {user}; {} login sessions ended, {} API tokens revoked",
        done.sessions_ended, done.tokens_revoked
    );
    Ok(())
}

pub async fn team(config: &Config, cmd: TeamCommand) -> anyhow::Result<()> {
    let db = open(config).await?;
    let who = Who::command_line();
    let now = Clock::system().now_ms();
    match cmd {
        TeamCommand::Add { name } => {
            let id = accounts::create_team(&db, &who, &name, now).await.map_err(admin)?;
            println!("created team {name} ({id})");
        }
        TeamCommand::List => {
            for t in store::teams(&db).await? {
                let members: Vec<String> = t.members.iter().map(|m| format!("{} ({})", m.username, m.role)).collect();
                println!("{}\t{}", t.name, members.join(", "));
            }
        }
        TeamCommand::AddMember { team, user } => {
            let changed = accounts::membership(&db, &who, &team, &user, true, now).await.map_err(admin)?;
            println!("{user} {} {team}", if changed { "added to" } else { "was already in" });
        }
        TeamCommand::RemoveMember { team, user } => {
            let changed = accounts::membership(&db, &who, &team, &user, false, now).await.map_err(admin)?;
            println!("{user} {} {team}", if changed { "removed from" } else { "was not in" });
        }
    }
    Ok(())
}

/// `audit verify`: success, or a failure naming the first bad row.
pub async fn audit(config: &Config, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify => {
            let db = open(config).await?;
            match crate::audit::store::verify(&db).await? {
                Ok(v) => {
                    println!("audit trail intact: {} entries, chain verified", v.rows);
                    Ok(ExitCode::SUCCESS)
                }
                Err(b) => {
                    eprintln!("audit trail BROKEN at seq {}: {b}", b.seq());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
