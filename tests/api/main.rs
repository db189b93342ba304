//! The black-box suite: every test talks HTTP to a real server, and runs once
//! on SQLite and once on PostgreSQL.

mod common;

mod auth;
mod claims_and_defaults;
mod codes;
mod faults;
mod hostile;
mod numbers;
mod operability;
mod ownership;
mod plans_roles_inventory;
mod process;
mod reliability;
mod schema;
mod security;
mod tenancy;
mod tenant_safety;
mod throttle_and_plans;
mod wire;
