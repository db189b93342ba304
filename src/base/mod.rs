//! The types every layer speaks: the parameters of a request, what a call
//! answers, and the error that becomes the envelope. They depend on nothing
//! else in the crate, so that the wire format, the calls and the store can
//! all use them without importing one another.

pub mod commit;
pub mod error;
pub mod params;
pub mod reply;

pub use commit::CommitGate;
pub use error::{ApiError, FieldError, Message};
pub use params::Params;
pub use reply::{Count, Created, Reply, RowChunks};
