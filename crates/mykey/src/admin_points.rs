//! `mykey admin points …`: the point secretariat's commands (Terms Art 22.1.3), over the
//! operator API: define, open and close rounds; approve or withdraw the payment services
//! providers register; read a round's statement as JSON or CSV.

use clap::Subcommand;
use mykey_api::points::PointRoundDefinition;

use crate::admin::{Target, call, to_json};

#[derive(Debug, Subcommand)]
pub(crate) enum PointsCommand {
    /// Define a round, as a draft (amounts in yen; one point is one yen).
    Define {
        #[command(flatten)]
        target: Target,
        /// Its name, shown to people.
        #[arg(long)]
        name: String,
        /// Percentage of each charge or purchase granted (1–100).
        #[arg(long, default_value_t = 25)]
        purchase_rate: u8,
        /// Most purchase points per person (1–1,000,000).
        #[arg(long, default_value_t = 5000)]
        purchase_cap: u32,
        /// Points for registering the card as a health-insurance card (Art 24); 0 for none.
        #[arg(long, default_value_t = 7500)]
        health_insurance_points: u32,
        /// Points for registering a public-fund receiving account (Art 25); 0 for none.
        #[arg(long, default_value_t = 7500)]
        public_fund_account_points: u32,
    },
    /// The rounds, oldest first.
    Rounds(Target),
    /// Open a draft round for applications.
    Open {
        #[command(flatten)]
        target: Target,
        /// The round's ID.
        id: i64,
    },
    /// Close an open round: no new applications.
    Close {
        #[command(flatten)]
        target: Target,
        /// The round's ID.
        id: i64,
    },
    /// Every payment service providers registered, with its status.
    Services(Target),
    /// Approve a payment service: people may choose it.
    Approve {
        #[command(flatten)]
        target: Target,
        /// The service's ID.
        id: i64,
    },
    /// Withdraw a payment service: no new applications through it.
    Withdraw {
        #[command(flatten)]
        target: Target,
        /// The service's ID.
        id: i64,
    },
    /// A round's statement per payment provider, in yen.
    Statement {
        #[command(flatten)]
        target: Target,
        /// The round's ID.
        id: i64,
        /// As CSV (RFC 4180) instead of JSON.
        #[arg(long)]
        csv: bool,
    },
}

pub(crate) async fn run(cmd: PointsCommand) -> Result<(), String> {
    match cmd {
        PointsCommand::Define {
            target,
            name,
            purchase_rate,
            purchase_cap,
            health_insurance_points,
            public_fund_account_points,
        } => {
            let body = PointRoundDefinition {
                name,
                purchase_rate,
                purchase_cap,
                health_insurance_points,
                public_fund_account_points,
            };
            call(
                &target,
                "POST",
                "/v1/ops/point-rounds",
                Some(to_json(&body)?),
            )
            .await
        }
        PointsCommand::Rounds(target) => call(&target, "GET", "/v1/ops/point-rounds", None).await,
        PointsCommand::Open { target, id } => {
            let path = format!("/v1/ops/point-rounds/{id}/opening");
            call(&target, "POST", &path, None).await
        }
        PointsCommand::Close { target, id } => {
            let path = format!("/v1/ops/point-rounds/{id}/closing");
            call(&target, "POST", &path, None).await
        }
        PointsCommand::Services(target) => {
            call(&target, "GET", "/v1/ops/payment-services", None).await
        }
        PointsCommand::Approve { target, id } => {
            let path = format!("/v1/ops/payment-services/{id}/approval");
            call(&target, "POST", &path, None).await
        }
        PointsCommand::Withdraw { target, id } => {
            let path = format!("/v1/ops/payment-services/{id}/withdrawal");
            call(&target, "POST", &path, None).await
        }
        PointsCommand::Statement { target, id, csv } => {
            let path = if csv {
                format!("/v1/ops/point-rounds/{id}/statement.csv")
            } else {
                format!("/v1/ops/point-rounds/{id}/statement")
            };
            call(&target, "GET", &path, None).await
        }
    }
}
