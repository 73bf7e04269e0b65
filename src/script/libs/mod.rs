//! The Lua libraries Redis 7.0 gives every script besides Lua 5.1's own: `cjson`, `cmsgpack`,
//! `bit` and `struct`, each written here in Rust on top of mlua, with Redis's behaviour and texts.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod structlib;

/// Installs the four libraries as globals of `lua` (`cjson`, `cmsgpack`, `bit`, `struct`), as
/// Redis does before it protects the global table.
pub fn register(lua: &mlua::Lua) -> mlua::Result<()> {
    bit::register(lua)?;
    cjson::register(lua)?;
    cmsgpack::register(lua)?;
    structlib::register(lua)?;
    Ok(())
}
