//! The Redis version this server answers as: what INFO, HELLO and scripts (redis.REDIS_VERSION)
//! report, and what clients and tools compare against.

/// The Redis version whose behaviour Rustis reproduces (INFO's `redis_version`, HELLO's `version`).
pub const REDIS_VERSION: &str = "7.0.15";
