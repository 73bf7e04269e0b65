//! Lua scripting: EVAL scripts and FUNCTION libraries, run by each worker in a Lua 5.1 VM of its
//! own, with Redis 7.0's API, sandbox and type conversions.

pub mod libs;
