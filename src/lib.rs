//! Rustis: a Redis-compatible in-memory key-value server with one event loop per core.
//!
//! Data flows one way: socket -> [`resp`] parser -> [`command`] table -> (worker mailbox ->) [`store`]
//! -> [`resp`] encoder -> socket. See README.md, "Architecture".

pub mod acl;
pub mod alloc;
pub mod command;
pub mod config;
pub mod glob;
pub mod keyslot;
pub mod log;
pub mod num;
pub mod os;
pub mod pause;
pub mod persist;
pub mod pubsub;
pub mod rdb;
pub mod resp;
pub mod script;
pub mod server;
pub mod shared;
pub mod slowlog;
pub mod stats;
pub mod store;
pub mod tracking;
pub mod version;
pub mod worker;
