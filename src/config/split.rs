//! The quoting of configuration lines: splitting a line into arguments as Redis's `sdssplitargs`
//! does, and writing a value back in the quoted form it reads (`sdscatrepr`), so that a file
//! Redis reads is read the same here and a file CONFIG REWRITE writes is read back unchanged.

/// C's `isspace` in the C locale: the blanks skipped between arguments and accepted after a
/// closing quote.
fn c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Splits `line` into arguments: words separated by blanks; `"..."` with the escapes `\n \r \t
/// \b \a \xHH` and `\<any>` for that byte; `'...'` with `\'` as its only escape. A closing quote
/// must be followed by a blank or the end. None for unbalanced quotes (or a quote followed by
/// another character), as Redis refuses the line.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut p = 0;
    // The line ends at its first NUL byte, as the C string Redis splits does.
    let line = &line[..line.iter().position(|&b| b == 0).unwrap_or(line.len())];
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    loop {
        while p < line.len() && c_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            let c = at(p);
            if inq {
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(h), Some(l)) = (hex(at(p + 2)), hex(at(p + 3))) {
                        cur.push(h * 16 + l);
                        p += 4;
                        continue;
                    }
                }
                if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    cur.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !c_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !c_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        if c != 0 {
                            p += 1;
                        }
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    other => cur.push(other),
                }
            }
            p += 1;
        }
        out.push(cur);
    }
}

/// `value` in double quotes with Redis's escapes (`sdscatrepr`): `\\ \" \n \r \t \a \b`, and
/// `\xHH` for any other byte that is not printable ASCII. [`split_args`] reads it back as `value`.
pub fn repr(value: &[u8]) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('"');
    for &b in value {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x07 => s.push_str("\\a"),
            0x08 => s.push_str("\\b"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Option<Vec<String>> {
        split_args(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|a| String::from_utf8_lossy(&a).into_owned())
                .collect()
        })
    }

    #[test]
    fn splits_like_sdssplitargs() {
        assert_eq!(split("a  b\tc").unwrap(), ["a", "b", "c"]);
        assert_eq!(split(r#""x y" 'z w'"#).unwrap(), ["x y", "z w"]);
        assert_eq!(split(r#""a\nb\x41\x4""#).unwrap(), ["a\nbAx4"]);
        assert_eq!(split(r#"'it\'s' "q\"""#).unwrap(), ["it's", "q\""]);
        assert_eq!(split(r#"""#), None);
        assert_eq!(split(r#""a"b"#), None);
        assert_eq!(split("'a'b"), None);
        assert_eq!(split(r#"ab"cd ef" g"#).unwrap(), ["abcd ef", "g"]);
        assert_eq!(split(r#""""#).unwrap(), [""]);
        assert_eq!(split("   ").unwrap(), Vec::<String>::new());
        assert_eq!(split_args(b"a\0b c").unwrap(), vec![b"a".to_vec()]);
    }

    #[test]
    fn repr_round_trips() {
        let v = b"a \"b\"\\\n\t\x01\xff".to_vec();
        let r = repr(&v);
        assert_eq!(r, r#""a \"b\"\\\n\t\x01\xff""#);
        assert_eq!(split_args(r.as_bytes()).unwrap(), vec![v]);
    }
}
