//! Customers' ledgers, for billing portals: what a customer was charged and
//! credited, its balance (the sum), and what its numbers cost per month.
//! A customer's ledger is kept by those above it: a reseller sees and adds
//! to its customers' ledgers, never its own. The system owner, with no one
//! above it, keeps its own.

use super::param::Shape;
use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    param::{common::DESCRIPTION, parse},
    write::in_transaction,
};
use crate::{
    base::{ApiError, Count, Reply},
    domain::{money::Money, privilege::Privilege},
    store::{
        self, StoreError,
        ledger::{EntryType, NewEntry, Period},
        owned_numbers::MonthlyByClass,
        references::Reference,
    },
};

const CUSTOMER: Param<i64> = Param::required(
    "customer",
    Kind::Integer,
    "ID of the customer: one below the caller's own (a customer's ledger is kept by those above it).",
    parse::integer,
);
const AMOUNT: Param<Money> = Param::required(
    "amount",
    Kind::Text,
    "Amount to add, as a decimal with at most 4 places: positive for a credit, negative for an adjustment against the customer.",
    |v| match Money::parse(v, 1_000_000_000) {
        Ok(amount) if amount == Money::ZERO => Err("The amount must not be zero.".into()),
        parsed => parse::with(parsed),
    },
);
const SINCE: Param<i64> = Param::with_default(
    "since",
    Kind::Integer,
    0,
    "Only rows written at or after this time (Unix seconds).",
    parse::integer,
)
.shaped(Shape::at_least(0));
const UNTIL: Param<i64> = Param::with_default(
    "until",
    Kind::Integer,
    0,
    "Only rows written before this time (Unix seconds); 0 for no bound.",
    parse::integer,
)
.shaped(Shape::at_least(0));

/// The largest balance either way, in ten-thousandths: 10^13 units.
const MAX_BALANCE_UNITS: i64 = 100_000_000_000_000_000;

const READS: Access = Access::Requires { any_of: &[Privilege::Commerce], writes: false };

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "customers/balance/add",
        summary: "Adds a credit (positive amount) or an adjustment (negative) to a customer's ledger.",
        access: Access::Requires { any_of: &[Privilege::Commerce], writes: true },
        params: &[&CUSTOMER, &AMOUNT, &DESCRIPTION],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(NewAmount, add),
    },
    CallSpec {
        name: "customers/balance/get",
        summary: "Gets a customer's balance: the sum of its ledger (charges are negative).",
        access: READS,
        params: &[&CUSTOMER],
        list: false,
        answer: super::Answer::Object(super::answer::BALANCE),
        handler: handler!(Ledger, balance),
    },
    CallSpec {
        name: "customers/transactions/list",
        summary: "Lists a customer's ledger rows in the order they were written; the answer is streamed.",
        access: READS,
        params: &[&CUSTOMER, &SINCE, &UNTIL],
        list: true,
        answer: super::Answer::Rows(super::answer::LEDGER_ENTRY),
        handler: handler!(LedgerPeriod, transactions),
    },
    CallSpec {
        name: "customers/charges/monthly",
        summary: "What a customer's numbers cost per month now, per number class and in total.",
        access: READS,
        params: &[&CUSTOMER],
        list: false,
        answer: super::Answer::Object(super::answer::MONTHLY),
        handler: handler!(Ledger, monthly),
    },
];

/// A customer whose ledger the caller keeps.
struct Ledger(i64);

impl Request for Ledger {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let Some(customer) = r.get(&CUSTOMER) else { return Ok(None) };
        r.check_seen(CUSTOMER.name, customer).await?;
        // The system owner has no customer above it: its own ledger is its own to keep.
        let caller = r.caller()?;
        let system = caller.privileges.admits(&[Privilege::System], r.writes());
        if r.is_ok(CUSTOMER.name) && customer == caller.customer && !system {
            r.error(CUSTOMER.name, "A customer's own ledger is kept by the customer above it.");
        }
        Ok(Some(Self(customer)))
    }
}

struct NewAmount {
    customer: i64,
    amount: Money,
    description: String,
}

impl Request for NewAmount {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let customer = Ledger::read(r).await?;
        let amount = r.get(&AMOUNT);
        let description = r.get(&DESCRIPTION);
        Ok((|| Some(Self { customer: customer?.0, amount: amount?, description: description? }))())
    }
}

struct LedgerPeriod {
    customer: i64,
    period: Period,
}

impl Request for LedgerPeriod {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let customer = Ledger::read(r).await?;
        let since = r.get(&SINCE);
        let until = r.get(&UNTIL);
        Ok((|| Some(Self { customer: customer?.0, period: Period { since: since?, until: until? } }))())
    }
}

async fn add(ctx: Ctx, new: NewAmount) -> CallResult {
    let person = ctx.caller()?.person;
    in_transaction(&ctx, async |tx| {
        let customer = Reference::Customer(new.customer);
        super::routing::hold_references(tx, &[("customer", customer, "This customer does not exist.")]).await?;
        // A balance stays far inside what its sum can hold (i64 ten-thousandths:
        // 922 trillion units), so that no read of it can ever overflow.
        let balance = store::ledger::balance_in(tx, new.customer).await?.units();
        if balance.checked_add(new.amount.units()).is_none_or(|after| after.abs() > MAX_BALANCE_UNITS) {
            return Err(ApiError::invalid(
                AMOUNT.name,
                "This would take the balance past 10,000,000,000,000 either way.",
            ));
        }
        let entry = NewEntry {
            customer: new.customer,
            entry_type: if new.amount.is_negative() { EntryType::Adjustment } else { EntryType::Credit },
            amount: new.amount,
            class: 0,
            count: 0,
            batch: 0,
            number: "",
            description: &new.description,
            person,
        };
        store::ledger::add(tx, &entry).await?;
        Ok(Reply::Done)
    })
    .await
}

#[derive(serde::Serialize)]
struct Balance {
    customer: i64,
    balance: Money,
}

async fn balance(ctx: Ctx, Ledger(customer): Ledger) -> CallResult {
    Reply::data(&Balance { customer, balance: store::ledger::balance(&ctx.db, customer).await? })
}

async fn transactions(ctx: Ctx, request: LedgerPeriod) -> CallResult {
    if ctx.count {
        return Reply::data(&Count { count: store::ledger::count(&ctx.db, request.customer, request.period).await? });
    }
    let permit = ctx.stream_slot()?;
    Ok(Reply::Rows(store::ledger::stream(&ctx.db, request.customer, request.period, &ctx.window, permit).await?))
}

#[derive(serde::Serialize)]
struct Monthly {
    customer: i64,
    classes: Vec<MonthlyByClass>,
    total: Money,
}

async fn monthly(ctx: Ctx, Ledger(customer): Ledger) -> CallResult {
    let classes = store::owned_numbers::monthly(&ctx.db, customer).await?;
    let total = classes.iter().map(|class| class.total).sum();
    Reply::data(&Monthly { customer, classes, total })
}
