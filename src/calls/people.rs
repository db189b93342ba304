//! People: logins, each in a customer and holding a role. A person may create
//! others only with a role that holds no privilege they lack themselves.

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    param::{
        common::{CUSTOMER, id},
        parse,
    },
    routing::{hold_references, plan_allows},
    write::{in_transaction, in_transaction_changing_logins},
};
use crate::{
    auth::{Caller, check_password, check_username},
    base::{ApiError, Count, Created, Reply},
    domain::privilege::{self, Privilege, Privileges},
    store::{
        self, StoreError, Tx,
        people::{CreateError, NewPerson, PersonRow},
        plans::Feature,
        references::Reference,
    },
};

const READ: Access = Access::Requires { any_of: &[Privilege::User], writes: false };

const USERNAME: Param<String> =
    Param::required("username", Kind::Text, "1 to 64 of A-Z a-z 0-9 . _ @ -; unique.", |v| match check_username(v) {
        Ok(()) => Ok(v.to_string()),
        Err(why) => Err(format!("The username {why}.").into()),
    });
const PASSWORD: Param<String> =
    Param::required("password", Kind::Text, "8 to 128 characters.", |v| match check_password(v) {
        Ok(()) => Ok(v.to_string()),
        Err(why) => Err(format!("The password {why}.").into()),
    });
const ROLE: Param<i64> = Param::required(
    "role",
    Kind::Integer,
    "ID of the role; it may hold no privilege the caller lacks.",
    parse::integer,
);
const EMAIL: Param<String> = Param::with_default("email", Kind::Text, String::new(), "E-mail address.", parse::email);
const FORENAME: Param<String> =
    Param::with_default("forename", Kind::Text, String::new(), "Forename.", parse::bounded::<255>);
const SURNAME: Param<String> =
    Param::with_default("surname", Kind::Text, String::new(), "Surname.", parse::bounded::<255>);
const ID: Param<i64> = id("ID of the person.");

const NEW_ROLE: Param<i64> = Param::kept(
    "role",
    Kind::Integer,
    0,
    "ID of the new role; it may hold no privilege the caller lacks.",
    parse::integer,
);
const NEW_CUSTOMER: Param<i64> = Param::kept(
    "customer",
    Kind::Integer,
    0,
    "ID of the customer to move the person to: one the caller may act in.",
    parse::integer,
);
const NEW_EMAIL: Param<String> = Param::kept("email", Kind::Text, String::new(), "E-mail address.", parse::email);
const NEW_FORENAME: Param<String> =
    Param::kept("forename", Kind::Text, String::new(), "Forename.", parse::bounded::<255>);
const NEW_SURNAME: Param<String> = Param::kept("surname", Kind::Text, String::new(), "Surname.", parse::bounded::<255>);
const WHOSE: Param<i64> = Param::decided(
    "id",
    Kind::Integer,
    "The authentication user.",
    "ID of the person whose password to set.",
    parse::integer,
);
const OLD_PASSWORD: Param<String> = Param::decided(
    "old_password",
    Kind::Text,
    "",
    "The current password: required unless id names another person; refused when it does.",
    parse::text,
);
const NEW_PASSWORD: Param<String> =
    Param::required("password", Kind::Text, "The new password: 8 to 128 characters.", |v| match check_password(v) {
        Ok(()) => Ok(v.to_string()),
        Err(why) => Err(format!("The password {why}.").into()),
    });

const ADMINISTERS: Access =
    Access::Requires { any_of: &[Privilege::Administrator, Privilege::Wholesale], writes: true };

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "people/create",
        summary: "Creates a person (a login) in a customer the caller sees; answers its id.",
        access: ADMINISTERS,
        params: &[&USERNAME, &PASSWORD, &ROLE, &CUSTOMER, &EMAIL, &FORENAME, &SURNAME],
        list: false,
        answer: super::Answer::Id,
        handler: handler!(PersonNew, create),
    },
    CallSpec {
        name: "people/get",
        summary: "Gets one person of a customer the caller sees.",
        access: READ,
        params: &[&ID],
        list: false,
        answer: super::Answer::Object(super::answer::PERSON),
        handler: handler!(PersonId, get),
    },
    CallSpec {
        name: "people/list",
        summary: "Lists the people of a customer the caller sees.",
        access: READ,
        params: &[&CUSTOMER],
        list: true,
        answer: super::Answer::Rows(super::answer::PERSON),
        handler: handler!(InCustomer, list),
    },
    CallSpec {
        name: "people/update",
        summary: "Changes a person's e-mail, names, role (no privilege the caller lacks; not one's own) or customer (one the caller may act in; not one's own); absent fields keep their value.",
        access: ADMINISTERS,
        params: &[&ID, &NEW_EMAIL, &NEW_FORENAME, &NEW_SURNAME, &NEW_ROLE, &NEW_CUSTOMER],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(PersonChange, update),
    },
    CallSpec {
        name: "people/delete",
        summary: "Deletes a person; not oneself, and never the last system owner.",
        access: ADMINISTERS,
        params: &[&ID],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(PersonGone, delete),
    },
    CallSpec {
        name: "people/password",
        summary: "Sets a password: one's own with old_password, or (administrator or wholesale) that of a person one administers. The old password stops working on every process at once.",
        access: Access::Requires {
            any_of: &[Privilege::User, Privilege::Administrator, Privilege::Wholesale],
            writes: true,
        },
        params: &[&WHOSE, &OLD_PASSWORD, &NEW_PASSWORD],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(PasswordChange, password),
    },
];

struct PersonNew {
    username: String,
    password: String,
    role: i64,
    role_privileges: Privileges,
    customer: i64,
    email: String,
    forename: String,
    surname: String,
}

impl Request for PersonNew {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let username = r.get(&USERNAME);
        let password = r.get(&PASSWORD);
        let role = r.get(&ROLE);
        let customer = r.seen_customer(&CUSTOMER).await?;
        let email = r.get(&EMAIL);
        let forename = r.get(&FORENAME);
        let surname = r.get(&SURNAME);
        let role_privileges = match role {
            Some(id) if store::roles::exists(r.db, id).await? => Some(store::roles::privileges(r.db, id).await?),
            Some(_) => {
                r.error(ROLE.name, "This role does not exist.");
                None
            }
            None => None,
        };
        Ok((|| {
            Some(Self {
                username: username?,
                password: password?,
                role: role?,
                role_privileges: role_privileges?,
                customer,
                email: email?,
                forename: forename?,
                surname: surname?,
            })
        })())
    }
}

struct PersonId(i64);

impl Request for PersonId {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        Ok(r.get(&ID).map(Self))
    }
}

/// The customer whose objects a list shows.
pub struct InCustomer(pub i64);

impl Request for InCustomer {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        Ok(Some(Self(r.seen_customer(&CUSTOMER).await?)))
    }
}

async fn create(ctx: Ctx, new: PersonNew) -> CallResult {
    if !grants_nothing_more(ctx.caller()?, &new.role_privileges) {
        return Err(ApiError::RoleForbids);
    }
    // Hashing happens outside the transaction (it takes tens of milliseconds)
    // and not at all when only validating.
    let password_hash = if ctx.validation { String::new() } else { ctx.auth.passwords.hash(new.password).await };
    let person = NewPerson {
        customer: new.customer,
        username: &new.username,
        password_hash: &password_hash,
        role: new.role,
        email: &new.email,
        forename: &new.forename,
        surname: &new.surname,
    };
    let outcome = in_transaction(&ctx, async |tx| {
        // Holds the customer too, so it cannot be deleted under this create.
        plan_allows(tx, new.customer, Feature::People, CUSTOMER.name).await?;
        hold_role(tx, new.role).await?;
        let taken = || ApiError::invalid("username", "This username is already in use.");
        if store::people::username_taken(tx, &new.username).await? {
            return Err(taken());
        }
        match store::people::create(tx, &person).await {
            Ok(id) => Reply::data(&Created { id }),
            Err(CreateError::UsernameTaken) => Err(taken()),
            Err(CreateError::Store(err)) => Err(err.into()),
        }
    })
    .await;
    // Learning that a username exists is counted like a failed login of the
    // caller's, so that usernames cannot be enumerated unthrottled.
    if let Err(ApiError::Invalid(fields)) = &outcome
        && fields.iter().any(|f| f.key == USERNAME.name)
    {
        ctx.auth.record_probe(&ctx.db, &ctx.caller()?.username, ctx.client).await?;
    }
    outcome
}

/// Whether every privilege of `role` is one the caller holds at least as fully.
fn grants_nothing_more(caller: &Caller, role: &Privileges) -> bool {
    use privilege::Access::{Full, ReadOnly};
    role.iter()
        .all(|(p, access)| matches!((caller.privileges.get(p), access), (Some(Full), _) | (Some(ReadOnly), ReadOnly)))
}

async fn get(ctx: Ctx, PersonId(id): PersonId) -> CallResult {
    let row = store::people::get(&ctx.db, id).await?.ok_or(ApiError::NotFound)?;
    if !store::customers::is_visible(&ctx.db, ctx.caller()?.scope(), row.customer).await? {
        return Err(ApiError::NotFound);
    }
    Reply::data(&row)
}

async fn list(ctx: Ctx, InCustomer(customer): InCustomer) -> CallResult {
    if ctx.count {
        return Reply::data(&Count { count: store::people::count(&ctx.db, customer).await? });
    }
    Reply::data(&store::people::list(&ctx.db, customer, &ctx.window).await?)
}

/// A person's row as `people/update` would leave it: `None` fields keep theirs.
struct PersonChange {
    id: i64,
    email: Option<String>,
    forename: Option<String>,
    surname: Option<String>,
    /// The new role and what it holds.
    role: Option<(i64, Privileges)>,
    customer: Option<i64>,
}

/// Reads a role parameter: its id and privileges, or a 400 when it does not exist.
async fn read_role(r: &mut Reader<'_>, param: &Param<i64>) -> Result<Option<(i64, Privileges)>, StoreError> {
    match r.get(param) {
        Some(id) if store::roles::exists(r.db, id).await? => Ok(Some((id, store::roles::privileges(r.db, id).await?))),
        Some(_) => {
            r.error(param.name, "This role does not exist.");
            Ok(None)
        }
        None => Ok(None),
    }
}

impl Request for PersonChange {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let id = r.get(&ID);
        let email = r.get(&NEW_EMAIL);
        let forename = r.get(&NEW_FORENAME);
        let surname = r.get(&NEW_SURNAME);
        let role = read_role(r, &NEW_ROLE).await?;
        let customer = r.get(&NEW_CUSTOMER);
        if let Some(customer) = customer {
            // Where a person may be moved to: a customer the caller may write in.
            r.check_seen(NEW_CUSTOMER.name, customer).await?;
        }
        Ok(id.map(|id| Self { id, email, forename, surname, role, customer }))
    }
}

struct PersonGone(i64);

impl Request for PersonGone {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let id = r.get(&ID);
        if id == Some(r.caller()?.person) {
            r.error(ID.name, "A person cannot delete themself.");
        }
        Ok(id.map(Self))
    }
}

struct PasswordChange {
    id: i64,
    old_password: Option<String>,
    password: String,
}

impl Request for PasswordChange {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let id = r.given(&WHOSE).unwrap_or(r.caller()?.person);
        let old_password = r.given(&OLD_PASSWORD);
        let password = r.get(&NEW_PASSWORD);
        let own = id == r.caller()?.person;
        match (own, &old_password) {
            (true, None) => r.error(OLD_PASSWORD.name, "The current password is required to set one's own."),
            // Checking another person's password would let an administrator
            // guess it without the throttle that guards logins.
            (false, Some(_)) => r.error(OLD_PASSWORD.name, "This parameter is only for setting one's own password."),
            _ => {}
        }
        Ok(password.map(|password| Self { id, old_password, password }))
    }
}

/// A person the caller may act on: one in a customer the caller may write in
/// (else 404, as if absent), holding a role that grants nothing the caller
/// lacks (else 402: an administrator cannot edit, delete or reset the
/// password of the system owner).
async fn administered(ctx: &Ctx, person: Option<PersonRow>) -> Result<PersonRow, ApiError> {
    let caller = ctx.caller()?;
    let person = person.ok_or(ApiError::NotFound)?;
    if !store::customers::is_visible(&ctx.db, caller.write_scope(), person.customer).await? {
        return Err(ApiError::NotFound);
    }
    if !grants_nothing_more(caller, &store::roles::privileges(&ctx.db, person.role).await?) {
        return Err(ApiError::RoleForbids);
    }
    Ok(person)
}

/// Answers 400 on `key` when `tx` would leave no system owner: the person
/// `id` was one of them, and is the last.
async fn keeps_a_system_owner(tx: &mut Tx, id: i64, key: &str) -> Result<(), ApiError> {
    let owners = store::people::system_owners(tx).await?;
    if matches!(owners.as_slice(), [only] if only.id == id) {
        return Err(ApiError::invalid(key, "This is the last system owner: give another person that role first."));
    }
    Ok(())
}

/// Holds the role a person is given, so that a racing roles/delete either
/// waits and then counts this person, or wins and this write is a 400.
async fn hold_role(tx: &mut Tx, role: i64) -> Result<(), ApiError> {
    let role = Reference::Row { table: "roles", id: role };
    hold_references(tx, &[("role", role, "This role does not exist.")]).await
}

/// Whether `person`, as it would be, owns the system (customer 1, `system` held fully).
fn owns_system(customer: i64, privileges: &Privileges) -> bool {
    customer == 1 && privileges.has_full(Privilege::System)
}

/// The person `id` as checked before the write's transaction, with the
/// privileges of their role. Reads through the pool run before the
/// transaction, never while it holds a row lock: fifty racing deletes of one
/// person would otherwise hold every connection waiting on the lock while
/// the winner waited for a connection to read with.
async fn checked(ctx: &Ctx, id: i64) -> Result<(PersonRow, Privileges), ApiError> {
    let person = administered(ctx, store::people::get(&ctx.db, id).await?).await?;
    let privileges = store::roles::privileges(&ctx.db, person.role).await?;
    Ok((person, privileges))
}

/// Inside the transaction: locks the person as checked. A system owner is
/// locked with every other system owner, in one order, first: two owners
/// deleting each other at once then queue instead of deadlocking. Gone is
/// 404; changed since the checks (moved or given another role) is a 503 to
/// retry, as the checks no longer hold.
async fn lock_as_checked(tx: &mut Tx, checked: &PersonRow, owner: bool) -> Result<PersonRow, ApiError> {
    if owner {
        store::people::system_owners(tx).await?;
    }
    let row = store::people::lock(tx, checked.id).await?.ok_or(ApiError::NotFound)?;
    if (row.customer, row.role) != (checked.customer, checked.role) {
        return Err(ApiError::Unavailable("the person changed while the call ran".into()));
    }
    Ok(row)
}

async fn update(ctx: Ctx, change: PersonChange) -> CallResult {
    let caller = ctx.caller()?;
    let (person, _) = checked(&ctx, change.id).await?;
    in_transaction_changing_logins(&ctx, async |tx| {
        // Whether they own the system now, decided under the owners' lock
        // (taken first, in one order), not from what was read before.
        let was_owner = store::people::system_owners(tx).await?.iter().any(|owner| owner.id == change.id);
        let mut row = lock_as_checked(tx, &person, false).await?;
        let mut keeps_system = true;
        if let Some((role, privileges)) = &change.role {
            if !grants_nothing_more(caller, privileges) {
                return Err(ApiError::RoleForbids);
            }
            // As with deleting: one's standing is changed by someone else, so
            // no call takes away the access it was made with.
            if change.id == caller.person && *role != row.role {
                return Err(ApiError::invalid(NEW_ROLE.name, "A person cannot change their own role."));
            }
            hold_role(tx, *role).await?;
            row.role = *role;
            keeps_system = privileges.has_full(Privilege::System);
        }
        if let Some(customer) = change.customer.filter(|&c| c != row.customer) {
            if change.id == caller.person {
                return Err(ApiError::invalid(NEW_CUSTOMER.name, "A person cannot move themself to another customer."));
            }
            // Moving a person into a customer adds one to it: its plan decides.
            plan_allows(tx, customer, Feature::People, NEW_CUSTOMER.name).await?;
            row.customer = customer;
        }
        if was_owner && !(keeps_system && row.customer == 1) {
            let key = if keeps_system { NEW_CUSTOMER.name } else { NEW_ROLE.name };
            keeps_a_system_owner(tx, change.id, key).await?;
        }
        if let Some(email) = &change.email {
            row.email.clone_from(email);
        }
        if let Some(forename) = &change.forename {
            row.forename.clone_from(forename);
        }
        if let Some(surname) = &change.surname {
            row.surname.clone_from(surname);
        }
        store::people::update(tx, &row).await?;
        Ok(Reply::Done)
    })
    .await
}

async fn delete(ctx: Ctx, PersonGone(id): PersonGone) -> CallResult {
    let (person, privileges) = checked(&ctx, id).await?;
    let owner = owns_system(person.customer, &privileges);
    in_transaction_changing_logins(&ctx, async |tx| {
        lock_as_checked(tx, &person, owner).await?;
        if owner {
            keeps_a_system_owner(tx, id, ID.name).await?;
        }
        store::people::delete(tx, id).await?;
        Ok(Reply::Done)
    })
    .await
}

async fn password(ctx: Ctx, change: PasswordChange) -> CallResult {
    let caller = ctx.caller()?;
    if change.id != caller.person {
        administered(&ctx, store::people::get(&ctx.db, change.id).await?).await?;
        // Setting another's password is administering them.
        if !caller.privileges.admits(&[Privilege::Administrator, Privilege::Wholesale], true) {
            return Err(ApiError::RoleForbids);
        }
    }
    if let Some(old) = change.old_password {
        let hash = store::people::password_hash(&ctx.db, change.id).await?;
        if !ctx.auth.passwords.verify(hash, old).await {
            return Err(ApiError::invalid(OLD_PASSWORD.name, "This is not the current password."));
        }
    }
    // Hashed outside the transaction (tens of milliseconds), and not when only validating.
    let hash = if ctx.validation { String::new() } else { ctx.auth.passwords.hash(change.password).await };
    in_transaction_changing_logins(&ctx, async |tx| {
        // The one statement `admin passwd` uses: every process's cached proof
        // of the old password ends with the hash it was proven against.
        if store::auth::replace_hash(tx, change.id, &hash).await? { Ok(Reply::Done) } else { Err(ApiError::NotFound) }
    })
    .await
}
