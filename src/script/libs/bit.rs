//! The `bit` library (LuaBitOp 1.0.2, as Redis 7.0 bundles it): 32-bit operations on Lua 5.1's
//! double numbers, so scripts written for Redis get the same results and errors.
//!
//! Arguments are converted the way LuaBitOp does it: the number (or numeric string) plus 2^52+2^51
//! and the low 32 bits of the resulting double, which wraps huge values modulo 2^32 and rounds
//! fractions to nearest-even. Results are signed 32-bit numbers.

#[path = "support.rs"]
pub(super) mod support;

use mlua::{Lua, MultiValue, Value};

use support::{arg, ret1, set_function, to_number, type_error, LibResult};

/// Installs the global `bit` table with LuaBitOp's twelve functions, as Redis 7.0 does, so that
/// scripts written for Redis find the same functions with the same results.
pub fn register(lua: &Lua) -> mlua::Result<()> {
    // Sized like luaL_register sizes it, which decides the order `pairs(bit)` lists.
    let bit = lua.create_table_with_capacity(0, 12)?;
    set_function(lua, &bit, "tobit", |lua, args| {
        bits_ret(barg(lua, &args, 1)?)
    })?;
    set_function(lua, &bit, "bnot", |lua, args| {
        bits_ret(!barg(lua, &args, 1)?)
    })?;
    set_function(lua, &bit, "band", |lua, args| {
        fold(lua, &args, |a, b| a & b)
    })?;
    set_function(lua, &bit, "bor", |lua, args| fold(lua, &args, |a, b| a | b))?;
    set_function(lua, &bit, "bxor", |lua, args| {
        fold(lua, &args, |a, b| a ^ b)
    })?;
    set_function(lua, &bit, "lshift", |lua, args| {
        shift(lua, &args, |b, n| b << n)
    })?;
    set_function(lua, &bit, "rshift", |lua, args| {
        shift(lua, &args, |b, n| b >> n)
    })?;
    set_function(lua, &bit, "arshift", |lua, args| {
        shift(lua, &args, |b, n| ((b as i32) >> n) as u32)
    })?;
    set_function(lua, &bit, "rol", |lua, args| {
        shift(lua, &args, |b, n| b.rotate_left(n))
    })?;
    set_function(lua, &bit, "ror", |lua, args| {
        shift(lua, &args, |b, n| b.rotate_right(n))
    })?;
    set_function(lua, &bit, "bswap", |lua, args| {
        bits_ret(barg(lua, &args, 1)?.swap_bytes())
    })?;
    set_function(lua, &bit, "tohex", tohex)?;
    lua.globals().raw_set("bit", bit)
}

/// LuaBitOp's argument conversion: `lua_tonumber`, then the 2^52+2^51 trick; a value that is
/// not a number (and not a numeric string) is a type error.
fn barg(lua: &Lua, args: &[Value], n: usize) -> LibResult<u32> {
    match to_number(lua, arg(args, n))? {
        Some(x) => Ok(tobit(x)),
        None => type_error(args, n, "number"),
    }
}

/// The low 32 bits of `x + 2^52 + 2^51` (what LuaBitOp reads through a union).
pub(crate) fn tobit(x: f64) -> u32 {
    (x + 6_755_399_441_055_744.0).to_bits() as u32
}

/// Results are returned as signed 32-bit numbers.
fn bits_ret(b: u32) -> LibResult<MultiValue> {
    ret1(Value::Number(f64::from(b as i32)))
}

/// band/bor/bxor: the first argument, then the others from the last one down (LuaBitOp's order,
/// which decides which bad argument is reported).
fn fold(lua: &Lua, args: &[Value], op: fn(u32, u32) -> u32) -> LibResult<MultiValue> {
    let mut b = barg(lua, args, 1)?;
    for i in (2..=args.len()).rev() {
        b = op(b, barg(lua, args, i)?);
    }
    bits_ret(b)
}

/// Shifts and rotations: the count is taken modulo 32.
fn shift(lua: &Lua, args: &[Value], op: fn(u32, u32) -> u32) -> LibResult<MultiValue> {
    let b = barg(lua, args, 1)?;
    let n = barg(lua, args, 2)? & 31;
    bits_ret(op(b, n))
}

/// `bit.tohex(x [, n])`: n hex digits (default 8, at most 8), upper case when n is negative.
fn tohex(lua: &Lua, args: Vec<Value>) -> LibResult<MultiValue> {
    let mut b = barg(lua, &args, 1)?;
    let mut n: i32 = if args.len() < 2 {
        8
    } else {
        barg(lua, &args, 2)? as i32
    };
    let digits: &[u8; 16] = if n < 0 {
        n = n.wrapping_neg();
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    // -(-2^31) overflows in C; the Redis build then prints 8 digits, as for any count above 8.
    let n = if !(0..=8).contains(&n) { 8 } else { n as usize };
    let mut buf = [0u8; 8];
    for slot in buf[..n].iter_mut().rev() {
        *slot = digits[(b & 15) as usize];
        b >>= 4;
    }
    ret1(Value::String(lua.create_string(&buf[..n])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lua() -> Lua {
        let lua = Lua::new();
        super::super::register(&lua).unwrap();
        lua
    }

    #[test]
    fn tobit_conversion() {
        assert_eq!(tobit(2f64.powi(32) + 5.0), 5);
        assert_eq!(tobit(-1.0), u32::MAX);
        assert_eq!(tobit(0.5), 0);
        assert_eq!(tobit(1.5), 2);
        assert_eq!(tobit(f64::NAN), 0);
        assert_eq!(tobit(f64::INFINITY), 0);
    }

    // BEGIN REDIS CASES
    // Expected values captured from redis-server 7.0.15 (EVAL <code> 0); errors that escape the
    // script are shown without Redis's "ERR " prefix and " script: <sha>, on @user_script:1." suffix.
    const CASES: &[(&str, Result<&str, &str>)] = &[
        // tobit basics
        (
            r#"return table.concat({bit.tobit(0), bit.tobit(1), bit.tobit(-1), bit.tobit(2^31), bit.tobit(2^32), bit.tobit(2^32 + 7), bit.tobit(-2^31 - 1), bit.tobit(0xffffffff)}, ",")"#,
            Ok(r#"0,1,-1,-2147483648,0,7,2147483647,-1"#),
        ),
        // tobit rounding
        (
            r#"return table.concat({bit.tobit(0.5), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-0.5), bit.tobit(-1.5), bit.tobit(0.49999999999999994), bit.tobit(1e15 + 0.5)}, ",")"#,
            Ok(r#"0,2,2,0,-2,0,-1530494976"#),
        ),
        // tobit huge
        (
            r#"return table.concat({bit.tobit(2^52), bit.tobit(2^53 + 2), bit.tobit(2^60 + 2^33 + 9), bit.tobit(1e300), bit.tobit(-1e300), bit.tobit(1/0), bit.tobit(-1/0), bit.tobit(0/0), bit.tobit(2^51 + 0.75)}, ",")"#,
            Ok(r#"0,1,33554432,-2013235812,-2013235812,0,0,0,0"#),
        ),
        // tobit strings
        (
            r#"return table.concat({bit.tobit("10"), bit.tobit("0x10"), bit.tobit(" 12 "), bit.tobit("1e3"), bit.tobit("-7")}, ",")"#,
            Ok(r#"10,16,12,1000,-7"#),
        ),
        // tobit extra args
        (r#"return tostring(bit.tobit(5, "x", {}))"#, Ok(r#"5"#)),
        // tobit bad string
        (
            r#"local ok, e = pcall(bit.tobit, "abc") return e"#,
            Ok(r#"bad argument #1 to '?' (number expected, got string)"#),
        ),
        // tobit nil
        (
            r#"return bit.tobit(nil)"#,
            Err(r#"user_script:1: bad argument #1 to 'tobit' (number expected, got nil)"#),
        ),
        // tobit none
        (
            r#"local ok, e = pcall(bit.tobit) return e"#,
            Ok(r#"bad argument #1 to '?' (number expected, got no value)"#),
        ),
        // tobit table via local
        (
            r#"local f = bit.tobit
return f({})"#,
            Err(r#"user_script:2: bad argument #1 to 'f' (number expected, got table)"#),
        ),
        // tobit boolean
        (
            r#"local ok, e = pcall(function() return bit.tobit(true) end) return e"#,
            Ok(r#"user_script:1: bad argument #1 to 'tobit' (number expected, got boolean)"#),
        ),
        // bnot
        (
            r#"return table.concat({bit.bnot(0), bit.bnot(-1), bit.bnot(0x12345678), bit.bnot(2^40)}, ",")"#,
            Ok(r#"-1,0,-305419897,-1"#),
        ),
        // band bor bxor
        (
            r#"return table.concat({bit.band(0xff, 0x0f), bit.band(-1, 0x7fffffff, 0x0ff0), bit.bor(1, 2, 4, 8), bit.bor(0x80000000, 0), bit.bxor(0xff, 0x0f), bit.bxor(1, 1, 1), bit.band(7), bit.bor(-3), bit.bxor(2^32 + 3)}, ",")"#,
            Ok(r#"15,4080,15,-2147483648,240,1,7,-3,3"#),
        ),
        // band error order
        (
            r#"local ok, e = pcall(bit.band, 1, nil, nil) return e"#,
            Ok(r#"bad argument #3 to '?' (number expected, got nil)"#),
        ),
        // bor error first
        (
            r#"local ok, e = pcall(bit.bor, "z", 1) return e"#,
            Ok(r#"bad argument #1 to '?' (number expected, got string)"#),
        ),
        // bxor none
        (
            r#"local ok, e = pcall(bit.bxor) return e"#,
            Ok(r#"bad argument #1 to '?' (number expected, got no value)"#),
        ),
        // band middle bad
        (
            r#"local ok, e = pcall(bit.band, 1, {}, 3) return e"#,
            Ok(r#"bad argument #2 to '?' (number expected, got table)"#),
        ),
        // shifts
        (
            r#"return table.concat({bit.lshift(1, 0), bit.lshift(1, 31), bit.lshift(1, 32), bit.lshift(1, 33), bit.lshift(0xff, -1), bit.rshift(-1, 28), bit.rshift(0x80000000, 31), bit.rshift(1, 32 + 1), bit.arshift(-256, 4), bit.arshift(0x80000000, 31), bit.arshift(256, 4)}, ",")"#,
            Ok(r#"1,-2147483648,1,2,-2147483648,15,1,0,-16,-1,16"#),
        ),
        // rotations
        (
            r#"return table.concat({bit.rol(0x12345678, 4), bit.rol(0x12345678, 0), bit.rol(0x12345678, 32), bit.rol(1, 31), bit.ror(0x12345678, 4), bit.ror(1, 1), bit.ror(0x12345678, 36), bit.rol(-1, 7)}, ",")"#,
            Ok(
                r#"591751041,305419896,305419896,-2147483648,-2128394905,-2147483648,-2128394905,-1"#,
            ),
        ),
        // shift errors
        (
            r#"local ok, e = pcall(bit.lshift, 1) return e"#,
            Ok(r#"bad argument #2 to '?' (number expected, got no value)"#),
        ),
        // shift error 1
        (
            r#"local ok, e = pcall(bit.rshift, nil, 1) return e"#,
            Ok(r#"bad argument #1 to '?' (number expected, got nil)"#),
        ),
        // bswap
        (
            r#"return table.concat({bit.bswap(0x12345678), bit.bswap(0x000000ff), bit.bswap(-1), bit.bswap(0x80)}, ",")"#,
            Ok(r#"2018915346,-16777216,-1,-2147483648"#),
        ),
        // tohex
        (
            r#"return table.concat({bit.tohex(1), bit.tohex(-1), bit.tohex(0xabcdef), bit.tohex(0x12345678, 4), bit.tohex(0xabcdef, -4), bit.tohex(0xabcdef, 12), bit.tohex(0xabcdef, -12), "[" .. bit.tohex(0xab, 0) .. "]", bit.tohex(255, 2), bit.tohex(255, -1), bit.tohex(2^32 + 0xbeef)}, ",")"#,
            Ok(r#"00000001,ffffffff,00abcdef,5678,CDEF,00abcdef,00ABCDEF,[],ff,F,0000beef"#),
        ),
        // tohex int_min count
        (
            r#"return bit.tohex(0xabcdef12, 2^31) .. "," .. bit.tohex(0xabcdef12, -2^31) .. "," .. bit.tohex(0xabcdef12, -2^31 + 1) .. "," .. bit.tohex(0xabcdef12, 2^31 - 1) .. "," .. bit.tohex(0xabcdef12, "3")"#,
            Ok(r#"ABCDEF12,ABCDEF12,ABCDEF12,abcdef12,f12"#),
        ),
        // tohex nil count
        (
            r#"local ok, e = pcall(bit.tohex, 1, nil) return e"#,
            Ok(r#"bad argument #2 to '?' (number expected, got nil)"#),
        ),
        // tohex bad count
        (
            r#"local ok, e = pcall(bit.tohex, 1, "q") return e"#,
            Ok(r#"bad argument #2 to '?' (number expected, got string)"#),
        ),
        // method call names
        (
            r#"local ok, e = pcall(function() return bit:tobit() end) return e"#,
            Ok(r#"user_script:1: calling 'tobit' on bad self (number expected, got table)"#),
        ),
        // method call bad self
        (
            r#"local t = {f = bit.tobit}
local ok, e = pcall(function() return t.f() end) return e"#,
            Ok(r#"user_script:2: bad argument #1 to 'f' (number expected, got no value)"#),
        ),
        // method call self arg
        (
            r#"local ok, e = pcall(function() local b = {tohex = bit.tohex} return b:tohex({}) end) return e"#,
            Ok(r#"user_script:1: calling 'tohex' on bad self (number expected, got table)"#),
        ),
        // bit table contents
        (
            r#"local n = {} for k in pairs(bit) do n[#n + 1] = k end table.sort(n) return table.concat(n, ",")"#,
            Ok(r#"arshift,band,bnot,bor,bswap,bxor,lshift,rol,ror,rshift,tobit,tohex"#),
        ),
        // tail call error position
        (
            r#"local function f(x) return bit.band(x) end
local ok, e = pcall(f, {}) return e"#,
            Ok(r#"user_script:1: bad argument #1 to 'band' (number expected, got table)"#),
        ),
        // nested call error position
        (
            r#"local function f(x) local y = bit.bor(x) return y end
local ok, e = pcall(f, {}) return e"#,
            Ok(r#"user_script:1: bad argument #1 to 'bor' (number expected, got table)"#),
        ),
        // results are numbers
        (
            r#"return type(bit.tobit(1)) .. type(bit.tohex(1))"#,
            Ok(r#"numberstring"#),
        ),
        // bit order
        (
            r#"local n = {} for k in pairs(bit) do n[#n + 1] = k end return table.concat(n, ",")"#,
            Ok(r#"band,rshift,bor,bnot,bswap,bxor,tobit,ror,lshift,tohex,rol,arshift"#),
        ),
    ];
    // END REDIS CASES

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn int32_values_are_fixed_points(x in any::<i32>(), n in 0u32..64) {
            let lua = lua();
            let num = |code: String| -> f64 { lua.load(code).eval().unwrap() };
            prop_assert_eq!(num(format!("return bit.tobit({x})")), f64::from(x));
            prop_assert_eq!(num(format!("return bit.tobit({x} + 2^32 * 3)")), f64::from(x));
            prop_assert_eq!(num(format!("return bit.bnot({x})")), f64::from(!x));
            prop_assert_eq!(num(format!("return bit.lshift({x}, {n})")), f64::from(x.wrapping_shl(n)));
            prop_assert_eq!(num(format!("return bit.arshift({x}, {n})")), f64::from(x.wrapping_shr(n)));
            prop_assert_eq!(num(format!("return bit.ror({x}, {n})")), f64::from(x.rotate_right(n)));
            let hex: String = lua.load(format!("return bit.tohex({x})")).eval().unwrap();
            prop_assert_eq!(hex, format!("{:08x}", x as u32));
        }
    }

    #[test]
    fn matches_redis() {
        support::testing::check_cases(&lua(), CASES);
    }
}
