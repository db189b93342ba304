//! People: logins, each in a customer and holding a role. A person may create
//! others only with a role that holds no privilege they lack themselves.

use serde_json::{Value, json};

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param,
    write::{VALIDATION, bounded_text, customer_param, email, id_json, in_transaction},
};
use crate::{
    auth::{
        Caller, check_password, check_username,
        privilege::{self, Privilege, Privileges},
    },
    http::{envelope::Reply, error::ApiError},
    store::{
        self,
        people::{CreateError, NewPerson, PersonRow},
    },
};

const READ: Access = Access::Requires { any_of: &[Privilege::User], writes: false };

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "people/create",
        summary: "Creates a person (a login) in a customer the caller sees; answers its id.",
        access: Access::Requires { any_of: &[Privilege::Administrator, Privilege::Wholesale], writes: true },
        params: &[
            Param::required("username", Kind::Text, "1 to 64 of A-Z a-z 0-9 . _ @ -; unique."),
            Param::required("password", Kind::Text, "8 to 128 characters."),
            Param::required("role", Kind::Integer, "ID of the role; it may hold no privilege the caller lacks."),
            Param::optional("customer", Kind::Integer, "Customer of authentication user.", "ID of the customer."),
            Param::optional("email", Kind::Text, "", "E-mail address."),
            Param::optional("forename", Kind::Text, "", "Forename."),
            Param::optional("surname", Kind::Text, "", "Surname."),
            VALIDATION,
        ],
        list: false,
        handler: |ctx| Box::pin(create(ctx)),
    },
    CallSpec {
        name: "people/get",
        summary: "Gets one person of a customer the caller sees.",
        access: READ,
        params: &[Param::required("id", Kind::Integer, "ID of the person.")],
        list: false,
        handler: |ctx| Box::pin(get(ctx)),
    },
    CallSpec {
        name: "people/list",
        summary: "Lists the people of a customer the caller sees.",
        access: READ,
        params: &[Param::optional(
            "customer",
            Kind::Integer,
            "Customer of authentication user.",
            "ID of the customer.",
        )],
        list: true,
        handler: |ctx| Box::pin(list(ctx)),
    },
];

async fn create(ctx: Ctx) -> CallResult {
    let (state, caller) = (&ctx.state, ctx.caller());
    let db = &state.db;
    let mut input = ctx.input();
    let username = input.required_text("username");
    if let Some(name) = username
        && let Err(why) = check_username(name)
    {
        input.error("username", &format!("The username {why}."));
    }
    let password = input.required_text("password");
    if let Some(pw) = password
        && let Err(why) = check_password(pw)
    {
        input.error("password", &format!("The password {why}."));
    }
    let role = input.required_int("role");
    let customer = customer_param(db, caller, &mut input).await?;
    let email = email(&mut input, "email", false);
    let forename = bounded_text(&mut input, "forename", false, 255);
    let surname = bounded_text(&mut input, "surname", false, 255);
    let validation = input.flag("validation", false).unwrap_or(false);
    let role_privileges = match role {
        Some(id) if store::roles::exists(db, id).await? => Some(store::roles::privileges(db, id).await?),
        Some(_) => {
            input.error("role", "This role does not exist.");
            None
        }
        None => None,
    };
    input.finish()?;
    if !grants_nothing_more(caller, &role_privileges.expect("validated")) {
        return Err(ApiError::RoleForbids);
    }
    let (username, password, role) =
        (username.expect("validated"), password.expect("validated"), role.expect("validated"));
    // Hashing happens outside the transaction (it takes tens of milliseconds)
    // and not at all when only validating.
    let password_hash = if validation { String::new() } else { state.auth.passwords.hash(password.to_string()).await };
    let person = NewPerson {
        customer,
        username,
        password_hash: &password_hash,
        role,
        email: email.unwrap_or(""),
        forename: forename.unwrap_or(""),
        surname: surname.unwrap_or(""),
    };
    in_transaction(db, validation, async |tx| {
        let taken = || ApiError::invalid("username", "This username is already in use.");
        if store::people::username_taken(tx, username).await? {
            return Err(taken());
        }
        match store::people::create(tx, &person).await {
            Ok(id) => Ok(id_json(id)),
            Err(CreateError::UsernameTaken) => Err(taken()),
            Err(CreateError::Store(err)) => Err(err.into()),
        }
    })
    .await
}

/// Whether every privilege of `role` is one the caller holds at least as fully.
fn grants_nothing_more(caller: &Caller, role: &Privileges) -> bool {
    use privilege::Access::{Full, ReadOnly};
    role.iter()
        .all(|(p, access)| matches!((caller.privileges.get(p), access), (Some(Full), _) | (Some(ReadOnly), ReadOnly)))
}

async fn get(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let id = input.required_int("id");
    input.finish()?;
    let db = &ctx.state.db;
    let row = store::people::get(db, id.expect("validated")).await?.ok_or(ApiError::NotFound)?;
    if !store::customers::is_visible(db, ctx.caller().scope(), row.customer).await? {
        return Err(ApiError::NotFound);
    }
    Ok(Reply::Data(person_json(row)))
}

async fn list(ctx: Ctx) -> CallResult {
    let (db, caller) = (&ctx.state.db, ctx.caller());
    let mut input = ctx.input();
    let customer = customer_param(db, caller, &mut input).await?;
    let (window, count) = input.list_window();
    input.finish()?;
    if count {
        return Ok(Reply::Data(json!({ "count": store::people::count(db, customer).await? })));
    }
    let rows = store::people::list(db, customer, &window).await?;
    Ok(Reply::Data(Value::Array(rows.into_iter().map(person_json).collect())))
}

/// A person's row: never the password or its hash.
fn person_json(row: PersonRow) -> Value {
    json!({
        "id": row.id, "customer": row.customer, "username": row.username, "role": row.role,
        "email": row.email, "forename": row.forename, "surname": row.surname, "created": row.created,
    })
}
