//! People: logins, each in a customer and holding a role. A person may create
//! others only with a role that holds no privilege they lack themselves.

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    param::{
        common::{CUSTOMER, id},
        parse,
    },
    write::in_transaction,
};
use crate::{
    auth::{Caller, check_password, check_username},
    base::{ApiError, Count, Created, Reply},
    domain::privilege::{self, Privilege, Privileges},
    store::{
        self, StoreError,
        people::{CreateError, NewPerson},
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

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "people/create",
        summary: "Creates a person (a login) in a customer the caller sees; answers its id.",
        access: Access::Requires { any_of: &[Privilege::Administrator, Privilege::Wholesale], writes: true },
        params: &[&USERNAME, &PASSWORD, &ROLE, &CUSTOMER, &EMAIL, &FORENAME, &SURNAME],
        list: false,
        handler: handler!(PersonNew, create),
    },
    CallSpec {
        name: "people/get",
        summary: "Gets one person of a customer the caller sees.",
        access: READ,
        params: &[&ID],
        list: false,
        handler: handler!(PersonId, get),
    },
    CallSpec {
        name: "people/list",
        summary: "Lists the people of a customer the caller sees.",
        access: READ,
        params: &[&CUSTOMER],
        list: true,
        handler: handler!(InCustomer, list),
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
