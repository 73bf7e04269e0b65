//! Property tests of the in-place RESP parser: any split of a valid byte stream parses to the same
//! commands, and arbitrary bytes never panic it.

use proptest::prelude::*;
use rustis::resp::{parse_command, Parsed, Source};

/// Parses every complete command of `buf`; returns them and the bytes consumed.
fn parse_prefix(buf: &[u8]) -> (Vec<Vec<Vec<u8>>>, usize) {
    let (mut args, mut scratch, mut pos, mut out) = (Vec::new(), Vec::new(), 0, Vec::new());
    while let Ok(Parsed::Command { consumed, source }) =
        parse_command(&buf[pos..], &mut args, &mut scratch, 512 << 20)
    {
        let base = if source == Source::Input {
            &buf[pos..]
        } else {
            &scratch[..]
        };
        if !args.is_empty() {
            out.push(args.iter().map(|r| base[r.clone()].to_vec()).collect());
        }
        pos += consumed;
    }
    (out, pos)
}

/// Feeds `stream` in the given chunk sizes, as a socket would, keeping unparsed bytes between reads.
fn parse_in_chunks(stream: &[u8], cuts: &[usize]) -> Vec<Vec<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut fed = 0;
    for &c in cuts.iter().chain(std::iter::once(&usize::MAX)) {
        let end = fed + c.min(stream.len() - fed);
        buf.extend_from_slice(&stream[fed..end]);
        fed = end;
        let (cmds, used) = parse_prefix(&buf);
        out.extend(cmds);
        buf.drain(..used);
        if fed == stream.len() {
            break;
        }
    }
    out
}

fn encode(cmd: &[Vec<u8>]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", cmd.len()).into_bytes();
    for a in cmd {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn command() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6)
}

proptest! {
    #[test]
    fn any_split_parses_the_same(cmds in prop::collection::vec(command(), 1..20),
                                 cuts in prop::collection::vec(1usize..64, 0..40)) {
        let stream: Vec<u8> = cmds.iter().flat_map(|c| encode(c)).collect();
        prop_assert_eq!(parse_in_chunks(&stream, &cuts), cmds);
    }

    #[test]
    fn inline_commands_split_anywhere(words in prop::collection::vec("[a-zA-Z0-9]{1,8}", 1..5),
                                      cut in 0usize..40) {
        let line = format!("{}\r\n", words.join(" ")).into_bytes();
        let expected: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        let cut = cut.min(line.len());
        prop_assert_eq!(parse_in_chunks(&line, &[cut]), vec![expected]);
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let (mut args, mut scratch, mut pos) = (Vec::new(), Vec::new(), 0);
        while pos < bytes.len() {
            match parse_command(&bytes[pos..], &mut args, &mut scratch, 1 << 20) {
                Ok(Parsed::Command { consumed, .. }) => { prop_assert!(consumed > 0); pos += consumed; }
                _ => break,
            }
        }
    }
}
