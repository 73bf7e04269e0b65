//! Placeholder: to be written.

/// Installs this library as a global of `lua`.
pub fn register(_lua: &mlua::Lua) -> mlua::Result<()> {
    Ok(())
}
