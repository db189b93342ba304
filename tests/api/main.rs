//! The black-box suite: every test talks HTTP to a real server, and runs once
//! on SQLite and once on PostgreSQL.

mod common;

mod auth;
mod backup;
mod claims_and_defaults;
mod codes;
mod crashes;
mod docs_page;
mod enswitch_behaviours;
mod fast_paths;
mod fault_retries;
mod faults;
mod full_disk;
mod hostile;
mod manage_attacks;
mod metrics_exposition;
mod number_life;
mod number_life_attacks;
mod numbers;
mod openapi_document;
mod operability;
mod ownership;
mod people_customers;
mod plans_roles_inventory;
mod process;
mod python_client;
mod readme_flow;
mod reliability;
mod scale_lists;
mod schema;
mod security;
mod tenancy;
mod tenant_safety;
mod throttle_and_plans;
mod wire;
