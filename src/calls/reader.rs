//! Reads a call's parameters into its typed request, collecting every problem
//! instead of stopping at the first, then reports them in the order of the
//! call's table. Reading may ask the database whether a referenced object
//! exists and is seen by the caller: a 400 for a dangling reference belongs in
//! the same answer as a 400 for a malformed value.

use std::collections::{HashMap, HashSet};

use crate::{
    auth::Caller,
    base::{ApiError, FieldError, Message, Params},
    calls::{
        CallSpec,
        param::{Absent, Kind, MSG_REQUIRED, Param, ParamInfo},
    },
    store::{self, Db, StoreError},
};

/// Parameters any call accepts without declaring them.
const CREDENTIAL_KEYS: [&str; 2] = ["auth_username", "auth_password"];

/// A call's typed request, read from its parameters.
pub trait Request: Sized + Send {
    /// Reads every parameter, recording each problem on `r`. `None` only when
    /// a problem was recorded (a `None` without one is answered as an
    /// internal error, never a panic).
    fn read(r: &mut Reader<'_>) -> impl Future<Output = Result<Option<Self>, StoreError>> + Send;
}

/// Calls that take no parameters of their own.
impl Request for () {
    async fn read(_: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        Ok(Some(()))
    }
}

pub struct Reader<'a> {
    params: &'a Params,
    spec: &'static CallSpec,
    pub db: &'a Db,
    caller: Option<&'a Caller>,
    errors: Vec<FieldError>,
    /// Keys already at fault: only the first problem of a key is reported.
    faulty: HashSet<String>,
}

impl<'a> Reader<'a> {
    pub fn new(params: &'a Params, spec: &'static CallSpec, db: &'a Db, caller: Option<&'a Caller>) -> Self {
        Self { params, spec, db, caller, errors: Vec::new(), faulty: HashSet::new() }
    }

    /// Whether the call being read writes (so only full access counts).
    pub fn writes(&self) -> bool {
        self.spec.writes()
    }

    /// The authenticated caller; reading a call that needs one without one is
    /// a fault of the server, never a panic.
    pub fn caller(&self) -> Result<&'a Caller, StoreError> {
        self.caller.ok_or_else(|| StoreError::Invariant("a call that needs a caller was read without one"))
    }

    /// Records a problem with `key`; only the first problem of a key is kept.
    pub fn error(&mut self, key: &str, message: impl Into<Message>) {
        if self.faulty.insert(key.to_string()) {
            self.errors.push(FieldError::new(key, &message.into()));
        }
    }

    /// Whether no problem has been recorded for `key` so far.
    pub fn is_ok(&self, key: &str) -> bool {
        !self.faulty.contains(key)
    }

    /// The names of `params` that were sent (possibly empty): on an update,
    /// the fields whose references are judged again.
    pub fn given_names(&self, params: &[&dyn ParamInfo]) -> Vec<&'static str> {
        params.iter().map(|p| p.name()).filter(|name| self.is_given_name(name)).collect()
    }

    /// Whether a parameter of this name was sent at all (possibly empty).
    pub fn is_given_name(&self, name: &str) -> bool {
        self.params.get(name).is_some()
    }

    /// The value sent for `param`, parsed; `None` when it was not sent or was
    /// refused. Sent empty, a parameter with a documented default means that
    /// default, as form-posting scripts send every field (`sname_action=` is
    /// `replace`); an update's integer or flag means its zero value, one whose
    /// default the call decides means none; any other empty text is handed to
    /// the parser as a value.
    pub fn given<T: Clone>(&mut self, param: &Param<T>) -> Option<T> {
        let raw = self.params.get(param.name)?;
        if raw.is_empty() {
            match (&param.absent, param.kind) {
                (Absent::Value(value), _) => return Some(value.clone()),
                // An update's empty number means its zero value; an update's
                // empty text has no default to take (its absence means
                // "unchanged"), so it is a value for the parser to judge.
                (Absent::Kept(value), Kind::Integer | Kind::Flag) => return Some(value.clone()),
                (_, Kind::Integer | Kind::Flag) => return None,
                (_, Kind::Text) => {}
            }
        }
        // The declared shape is checked after the parser, whose message is
        // the more precise; words types are their own shape, parsed from it.
        match (param.parse)(raw).and_then(|value| param.shape.check(raw).map(|()| value)) {
            Ok(value) => Some(value),
            Err(message) => {
                self.error(param.name, message);
                None
            }
        }
    }

    /// The value of `param`: as sent, else its default. `None` when a problem
    /// was recorded, or when absence is [`Absent::Decided`] or [`Absent::Kept`]
    /// and nothing was sent.
    pub fn get<T: Clone>(&mut self, param: &Param<T>) -> Option<T> {
        let raw = self.params.get(param.name);
        let missing = match (&param.absent, raw) {
            (_, None) => true,
            (Absent::Required, Some("")) => true,
            (_, Some("")) => param.kind != Kind::Text,
            _ => false,
        };
        if !missing {
            return self.given(param);
        }
        match &param.absent {
            Absent::Required | Absent::RequiredMayBeEmpty => {
                self.error(param.name, MSG_REQUIRED);
                None
            }
            Absent::Value(value) => Some(value.clone()),
            Absent::Decided(_) => None,
            Absent::Kept(value) => raw.map(|_| value.clone()),
        }
    }

    /// A `customer` (or `parent`) parameter: the caller's own customer when
    /// not sent, and a 400 unless the caller sees it. An unseen customer is
    /// answered exactly like one that does not exist.
    pub async fn seen_customer(&mut self, param: &Param<i64>) -> Result<i64, StoreError> {
        let caller = self.caller()?;
        let customer = self.given(param).unwrap_or(caller.customer);
        self.check_seen(param.name, customer).await?;
        Ok(customer)
    }

    /// Records a 400 for `key` unless customer `id` exists and is seen by the
    /// caller: for a writing call, seen through privileges held with full access.
    pub async fn check_seen(&mut self, key: &str, id: i64) -> Result<(), StoreError> {
        let caller = self.caller()?;
        let scope = caller.scope_for(self.spec.writes());
        // The caller's own customer is always seen: no need to ask the database.
        if self.is_ok(key) && id != caller.customer && !store::customers::is_visible(self.db, scope, id).await? {
            self.error(key, "This customer does not exist.");
        }
        Ok(())
    }

    /// Ends reading: the request when every parameter passed, else one 400
    /// entry per bad parameter in the order of the call's table (then unknown
    /// keys, under `strict`, in the order given).
    pub fn finish<R>(mut self, request: Option<R>, strict: bool) -> Result<R, ApiError> {
        let table: HashMap<&str, usize> = self.spec.all_params().enumerate().map(|(i, p)| (p.name(), i)).collect();
        if strict {
            let unknown: Vec<&str> =
                self.params.keys().filter(|key| !CREDENTIAL_KEYS.contains(key) && !table.contains_key(key)).collect();
            for key in unknown {
                self.error(key, "This parameter is not known to this function.");
            }
        }
        if !self.errors.is_empty() {
            // A stable sort keeps unknown keys in the order given.
            self.errors.sort_by_key(|e| table.get(e.key.as_str()).copied().unwrap_or(usize::MAX));
            return Err(ApiError::Invalid(self.errors));
        }
        request.ok_or_else(|| {
            ApiError::internal(format_args!("{}: a request was incomplete without a 400", self.spec.name))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        calls::{Access, CallResult, Kind, param::parse},
        store::SqliteDb,
    };

    const TEXT: Param<String> = Param::required("text", Kind::Text, "", parse::text);
    const NUMBER: Param<i64> = Param::with_default("number", Kind::Integer, -1, "", parse::integer);
    const CHOSEN: Param<i64> = Param::decided("chosen", Kind::Integer, "by the call", "", parse::integer);
    const SPEC: CallSpec = CallSpec {
        name: "test/call",
        summary: "",
        access: Access::Public,
        params: &[&TEXT, &NUMBER, &CHOSEN],
        list: false,
        answer: crate::calls::Answer::Nothing,
        handler: |_| Box::pin(async { CallResult::Err(ApiError::NotFound) }),
    };

    fn db() -> Db {
        let pool = sqlx::SqlitePool::connect_lazy("sqlite::memory:").unwrap();
        Db::Sqlite(SqliteDb { read: pool.clone(), write: pool })
    }

    fn keys(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Invalid(fields) => fields.into_iter().map(|f| f.key).collect(),
            other => panic!("not a 400: {other:?}"),
        }
    }

    #[tokio::test]
    async fn absent_empty_and_given() {
        static S: CallSpec = SPEC;
        let db = db();
        let params = Params::from_pairs([("text", ""), ("number", ""), ("chosen", "")]);
        let mut r = Reader::new(&params, &S, &db, None);
        assert_eq!(r.get(&TEXT), None, "a required text may not be empty");
        assert_eq!(r.get(&NUMBER), Some(-1), "an empty integer is its default");
        assert_eq!(r.get(&CHOSEN), None, "a decided default is the call's");
        assert_eq!(r.given(&NUMBER), Some(-1));
        assert_eq!(keys(r.finish(Some(()), false).unwrap_err()), ["text"]);

        let params = Params::from_pairs([("number", "7"), ("text", "x")]);
        let mut r = Reader::new(&params, &S, &db, None);
        assert_eq!((r.get(&TEXT), r.get(&NUMBER), r.given(&CHOSEN)), (Some("x".into()), Some(7), None));
        assert!(r.finish(Some(()), false).is_ok());
    }

    #[tokio::test]
    async fn errors_in_table_order_then_unknown_keys_in_order_given() {
        static S: CallSpec = SPEC;
        let db = db();
        let params = Params::from_pairs([("zeta", "1"), ("number", "x"), ("alpha", "1"), ("validation", "1")]);
        let mut r = Reader::new(&params, &S, &db, None);
        // Read out of table order: the answer is in table order all the same.
        r.get(&NUMBER);
        r.get(&TEXT);
        // A public call takes no `validation`: under strict mode it is unknown like any other.
        assert_eq!(keys(r.finish(Some(()), true).unwrap_err()), ["text", "number", "zeta", "alpha", "validation"]);
    }

    #[tokio::test]
    async fn an_incomplete_request_without_a_400_is_a_500_not_a_panic() {
        static S: CallSpec = SPEC;
        let db = db();
        let params = Params::from_pairs([("text", "x")]);
        let r = Reader::new(&params, &S, &db, None);
        assert!(matches!(r.finish::<()>(None, false), Err(ApiError::Internal(_))));
        let mut r = Reader::new(&params, &S, &db, None);
        assert!(matches!(r.caller(), Err(StoreError::Invariant(_))));
        r.error("text", "first");
        r.error("text", "second");
        assert!(
            matches!(r.finish(Some(()), false), Err(ApiError::Invalid(f)) if f.len() == 1 && f[0].message == "first")
        );
    }
}
