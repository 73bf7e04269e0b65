//! Geohashes as Redis's geo commands use them: a position is a 52-bit interleaved geohash (26 bits of
//! latitude in the even bits, 26 of longitude in the odd ones) stored as a sorted set score, over
//! Web Mercator's limits (latitude ±85.05112878, longitude ±180). A radius or box search covers its
//! shape with a cell of a suitable size and that cell's eight neighbours; each cell is one score
//! range of the sorted set.
//!
//! Every step here reproduces Redis 7.0's arithmetic operation for operation (same formulas, same
//! order, same C conversions), because clients see the results: scores, the decoded cell centres
//! printed with 17 decimals, distances printed with 4, and which points fall at the edge of a
//! search. All functions are O(1).

/// Bits per coordinate of a stored position (52 bits in all).
pub const STEP_MAX: u8 = 26;
/// Latitude limits of the projection (EPSG:900913): positions beyond cannot be indexed.
pub const LAT_MIN: f64 = -85.05112878;
/// See [`LAT_MIN`].
pub const LAT_MAX: f64 = 85.05112878;
/// Longitude limits.
pub const LONG_MIN: f64 = -180.0;
/// See [`LONG_MIN`].
pub const LONG_MAX: f64 = 180.0;
/// Redis's earth radius for WGS-84 (the quadratic mean), in meters.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
/// Half the Mercator world width, in meters (used to estimate the cell size of a search).
const MERCATOR_MAX: f64 = 20037726.37;
/// Degrees to radians, as Redis's `D_R` (M_PI / 180.0, folded to one double).
const D_R: f64 = std::f64::consts::PI / 180.0;

/// A geohash of `step` bits per coordinate. `bits == 0 && step == 0` is the "zero" hash: a
/// neighbour excluded from a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hash {
    /// Interleaved bits: latitude in the even positions, longitude in the odd ones.
    pub bits: u64,
    /// Bits per coordinate.
    pub step: u8,
}

impl Hash {
    /// Whether this is the zero hash (Redis's HASHISZERO).
    #[inline]
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

/// A closed interval of one coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Range {
    /// Lower end.
    pub min: f64,
    /// Upper end.
    pub max: f64,
}

/// The cell a hash stands for.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Area {
    /// The hash decoded.
    pub hash: Hash,
    /// Longitude interval.
    pub longitude: Range,
    /// Latitude interval.
    pub latitude: Range,
}

/// The ranges Redis indexes positions over.
const LONG_RANGE: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// Spreads the 32 bits of `x` into the even bits and those of `y` into the odd bits of one u64.
#[inline]
fn interleave64(x: u32, y: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (x as u64, y as u64);
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

/// The inverse of [`interleave64`]: even bits in the low half, odd bits in the high half.
#[inline]
fn deinterleave64(v: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let (mut x, mut y) = (v, v >> 1);
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// C's conversion of a non-negative double to `uint32_t` as GCC compiles it on x86-64 (through a
/// signed 64-bit truncation, then the low 32 bits).
#[inline]
fn to_u32(d: f64) -> u32 {
    cvtt_i64(d) as u32
}

/// x86-64's `cvttsd2si`: truncation toward zero, or the "integer indefinite" i64::MIN when the
/// value is NaN or out of range.
#[inline]
pub fn cvtt_i64(d: f64) -> i64 {
    if d > -9223372036854777856.0 && d < 9223372036854775808.0 {
        d as i64
    } else {
        i64::MIN
    }
}

/// C's `(uint64_t)d` as GCC compiles it on x86-64: values from 2^63 up are shifted down by 2^63
/// before the signed conversion and the top bit set back; everything else (negatives, NaN) goes
/// through the signed conversion. A sorted set may hold any score, and Redis decodes whatever it
/// finds this way.
#[inline]
pub fn score_to_bits(d: f64) -> u64 {
    const TWO63: f64 = 9223372036854775808.0;
    if d >= TWO63 {
        (cvtt_i64(d - TWO63) as u64) ^ (1 << 63)
    } else {
        cvtt_i64(d) as u64
    }
}

/// Encodes a position in the given ranges with `step` bits per coordinate (Redis's
/// `geohashEncode`); None outside the ranges or the Mercator limits, or for a step out of 1..=32.
pub fn encode(long_range: Range, lat_range: Range, lon: f64, lat: f64, step: u8) -> Option<Hash> {
    if step > 32 || step == 0 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_range.min || lat > lat_range.max || lon < long_range.min || lon > long_range.max {
        return None;
    }
    let mut lat_offset = (lat - lat_range.min) / (lat_range.max - lat_range.min);
    let mut long_offset = (lon - long_range.min) / (long_range.max - long_range.min);
    let scale = (1u64 << step) as f64;
    lat_offset *= scale;
    long_offset *= scale;
    Some(Hash {
        bits: interleave64(to_u32(lat_offset), to_u32(long_offset)),
        step,
    })
}

/// Encodes a position over the Mercator ranges (Redis's `geohashEncodeWGS84`).
pub fn encode_wgs84(lon: f64, lat: f64, step: u8) -> Option<Hash> {
    encode(LONG_RANGE, LAT_RANGE, lon, lat, step)
}

/// The standard geohash ranges (latitude ±90), for the base32 strings GEOHASH prints.
pub fn encode_standard(lon: f64, lat: f64, step: u8) -> Option<Hash> {
    let lon_r = Range {
        min: -180.0,
        max: 180.0,
    };
    let lat_r = Range {
        min: -90.0,
        max: 90.0,
    };
    encode(lon_r, lat_r, lon, lat, step)
}

/// The cell of `hash` over the Mercator ranges (Redis's `geohashDecode`); None for the zero hash.
pub fn decode(hash: Hash) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave64(hash.bits);
    let lat_scale = LAT_RANGE.max - LAT_RANGE.min;
    let long_scale = LONG_RANGE.max - LONG_RANGE.min;
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let div = (1u64 << hash.step) as f64;
    Some(Area {
        hash,
        latitude: Range {
            min: LAT_RANGE.min + (ilato as f64 / div) * lat_scale,
            max: LAT_RANGE.min + (ilato.wrapping_add(1) as f64 / div) * lat_scale,
        },
        longitude: Range {
            min: LONG_RANGE.min + (ilono as f64 / div) * long_scale,
            max: LONG_RANGE.min + (ilono.wrapping_add(1) as f64 / div) * long_scale,
        },
    })
}

/// The centre of a cell, clamped to the Mercator limits: `[longitude, latitude]`.
pub fn area_centre(a: &Area) -> [f64; 2] {
    let lon = ((a.longitude.min + a.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((a.latitude.min + a.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [lon, lat]
}

/// The position a sorted set score stands for (`[longitude, latitude]`, the centre of its 52-bit
/// cell), as Redis's `decodeGeohash` reads any score.
pub fn decode_score(score: f64) -> [f64; 2] {
    let hash = Hash {
        bits: score_to_bits(score),
        step: STEP_MAX,
    };
    // A 26-step hash is never the zero hash, so decoding succeeds.
    decode(hash).map_or([0.0, 0.0], |a| area_centre(&a))
}

/// The score GEOADD stores for a position already checked to be within the limits.
pub fn score_of(lon: f64, lat: f64) -> u64 {
    encode_wgs84(lon, lat, STEP_MAX).map_or(0, align52)
}

/// Moves a hash one cell east (`d > 0`) or west (`d < 0`), wrapping around.
fn move_x(h: &mut Hash, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = h.bits & 0xaaaaaaaaaaaaaaaa;
    let y = h.bits & 0x5555555555555555;
    let shift = 64u32.saturating_sub(2 * h.step as u32);
    let zz = 0x5555555555555555u64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaaaaaaaaaaaaaau64.checked_shr(shift).unwrap_or(0);
    h.bits = x | y;
}

/// Moves a hash one cell north (`d > 0`) or south (`d < 0`), wrapping around.
fn move_y(h: &mut Hash, d: i8) {
    if d == 0 {
        return;
    }
    let x = h.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = h.bits & 0x5555555555555555;
    let shift = 64u32.saturating_sub(2 * h.step as u32);
    let zz = 0xaaaaaaaaaaaaaaaau64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555555555555555u64.checked_shr(shift).unwrap_or(0);
    h.bits = x | y;
}

/// The eight neighbours of a cell.
#[derive(Debug, Clone, Copy, Default)]
pub struct Neighbours {
    /// The cell above (the zero hash when excluded from a search, as every field here).
    pub north: Hash,
    /// The cell below.
    pub south: Hash,
    /// The cell to the east.
    pub east: Hash,
    /// The cell to the west.
    pub west: Hash,
    /// The cell to the north-east.
    pub north_east: Hash,
    /// The cell to the north-west.
    pub north_west: Hash,
    /// The cell to the south-east.
    pub south_east: Hash,
    /// The cell to the south-west.
    pub south_west: Hash,
}

/// The neighbours of `h` (Redis's `geohashNeighbors`); `h.step` must be 1..=32.
pub fn neighbours(h: &Hash) -> Neighbours {
    let at = |dx: i8, dy: i8| {
        let mut n = *h;
        move_x(&mut n, dx);
        move_y(&mut n, dy);
        n
    };
    Neighbours {
        east: at(1, 0),
        west: at(-1, 0),
        south: at(0, -1),
        north: at(0, 1),
        north_west: at(-1, 1),
        north_east: at(1, 1),
        south_east: at(1, -1),
        south_west: at(-1, -1),
    }
}

/// The hash's bits aligned to 52 bits (the score range a cell starts at).
#[inline]
pub fn align52(h: Hash) -> u64 {
    h.bits << (52 - 2 * h.step as u32)
}

/// The sorted set scores of the members inside cell `h`: `min` included, `max` excluded.
pub fn score_range(h: Hash) -> (f64, f64) {
    let min = align52(h);
    let next = Hash {
        bits: h.bits.wrapping_add(1),
        step: h.step,
    };
    (min as f64, align52(next) as f64)
}

/// The shape a search covers, in the units of `conversion` (meters per unit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// BYRADIUS: a circle of this radius.
    Circle(f64),
    /// BYBOX: a rectangle of this width and height, aligned to the meridians.
    Box(f64, f64),
}

/// A search: its centre (`[longitude, latitude]`), shape and unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Search {
    /// Centre: `[longitude, latitude]`.
    pub xy: [f64; 2],
    /// What is searched.
    pub shape: Shape,
    /// Meters per unit of the shape's sizes.
    pub conversion: f64,
}

/// The cell to search and its neighbours (the zero hash for those the search cannot reach).
#[derive(Debug, Clone, Copy)]
pub struct Areas {
    /// The cell holding the centre.
    pub hash: Hash,
    /// Its neighbours.
    pub neighbours: Neighbours,
    /// The cell decoded.
    pub area: Area,
}

/// How many bits per coordinate the cells of a search of this radius should have (Redis's
/// `geohashEstimateStepsByRadius`).
pub fn estimate_steps(mut range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

#[inline]
fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

#[inline]
fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// The bounding box of a search: `[min longitude, min latitude, max longitude, max latitude]`
/// (Redis's `geohashBoundingBox`, which widens the longitude span at the latitude edge farther from
/// the equator).
pub fn bounding_box(s: &Search) -> [f64; 4] {
    let [longitude, latitude] = s.xy;
    let (height, width) = match s.shape {
        Shape::Circle(r) => (s.conversion * r, s.conversion * r),
        Shape::Box(w, h) => (s.conversion * (h / 2.0), s.conversion * (w / 2.0)),
    };
    let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
    let long_delta_top =
        rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
    let long_delta_bottom =
        rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
    let south = latitude < 0.0;
    let delta = if south {
        long_delta_bottom
    } else {
        long_delta_top
    };
    [
        longitude - delta,
        latitude - lat_delta,
        longitude + delta,
        latitude + lat_delta,
    ]
}

/// The nine cells covering a search (Redis's `geohashCalculateAreasByShapeWGS84`): a cell size from
/// the radius (a box's half diagonal), one step coarser when a neighbour would not reach the
/// bounding box's edge, and the neighbours on the sides the search cannot reach zeroed.
pub fn areas_by_shape(s: &Search) -> Areas {
    let [min_lon, min_lat, max_lon, max_lat] = bounding_box(s);
    let [longitude, latitude] = s.xy;
    let radius_meters = match s.shape {
        Shape::Circle(r) => r,
        Shape::Box(w, h) => ((w / 2.0) * (w / 2.0) + (h / 2.0) * (h / 2.0)).sqrt(),
    } * s.conversion;
    let mut steps = estimate_steps(radius_meters, latitude);
    let cell = |steps: u8| {
        let hash = encode_wgs84(longitude, latitude, steps).unwrap_or(Hash {
            bits: 0,
            step: steps,
        });
        let n = neighbours(&hash);
        let area = decode(hash).unwrap_or_default();
        (hash, n, area)
    };
    let (mut hash, mut n, mut area) = cell(steps);
    let dec = |h: Hash| decode(h).unwrap_or_default();
    let decrease = dec(n.north).latitude.max < max_lat
        || dec(n.south).latitude.min > min_lat
        || dec(n.east).longitude.max < max_lon
        || dec(n.west).longitude.min > min_lon;
    if steps > 1 && decrease {
        steps -= 1;
        (hash, n, area) = cell(steps);
    }
    if steps >= 2 {
        let zero = Hash::default();
        if area.latitude.min < min_lat {
            n.south = zero;
            n.south_west = zero;
            n.south_east = zero;
        }
        if area.latitude.max > max_lat {
            n.north = zero;
            n.north_east = zero;
            n.north_west = zero;
        }
        if area.longitude.min < min_lon {
            n.west = zero;
            n.south_west = zero;
            n.north_west = zero;
        }
        if area.longitude.max > max_lon {
            n.east = zero;
            n.south_east = zero;
            n.north_east = zero;
        }
    }
    Areas {
        hash,
        neighbours: n,
        area,
    }
}

/// Distance along a meridian between two latitudes, in meters.
pub fn lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// Great-circle distance between two positions (haversine, Redis's earth radius), in meters.
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// Whether the position `xy` lies within the search, and its distance from the centre in meters
/// (Redis's `geoWithinShape` after decoding). A box holds a point whose latitude distance and
/// longitude distance (along the point's parallel) from the centre are within half its height and
/// width.
pub fn within(s: &Search, xy: [f64; 2]) -> Option<f64> {
    let [x1, y1] = s.xy;
    let [x2, y2] = xy;
    match s.shape {
        Shape::Circle(r) => {
            let d = distance(x1, y1, x2, y2);
            if d > r * s.conversion {
                None
            } else {
                Some(d)
            }
        }
        Shape::Box(w, h) => {
            let (width_m, height_m) = (w * s.conversion, h * s.conversion);
            if lat_distance(y2, y1) > height_m / 2.0 {
                return None;
            }
            if distance(x2, y2, x1, y2) > width_m / 2.0 {
                return None;
            }
            Some(distance(x1, y1, x2, y2))
        }
    }
}

/// The base32 alphabet of geohash strings.
const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// The 11-character geohash string of a stored score, as GEOHASH prints it: the position decoded
/// and encoded again over the standard ±90 latitude range; the 11th character stands for bits the
/// 52-bit score lacks and is always '0'.
pub fn base32_of_score(score: f64) -> [u8; 11] {
    let [lon, lat] = decode_score(score);
    let bits = encode_standard(lon, lat, STEP_MAX).map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[idx as usize];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaving_round_trips() {
        for (x, y) in [
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (0x3ffffff, 0x1234567),
            (u32::MAX, 7),
        ] {
            let v = interleave64(x, y);
            let s = deinterleave64(v);
            assert_eq!((s as u32, (s >> 32) as u32), (x, y));
        }
    }

    #[test]
    fn scores_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" 15.087269 37.502669 "Catania"
        assert_eq!(score_of(13.361389, 38.115556), 3479099956230698);
        assert_eq!(score_of(15.087269, 37.502669), 3479447370796909);
        let [lon, lat] = decode_score(3479099956230698.0);
        assert!((lon - 13.361389).abs() < 1e-5 && (lat - 38.115556).abs() < 1e-5);
        assert_eq!(&base32_of_score(3479099956230698.0), b"sqc8b49rny0");
        assert_eq!(&base32_of_score(3479447370796909.0), b"sqdtr74hyu0");
    }

    #[test]
    fn distances_match_redis() {
        let [a, b] = decode_score(3479099956230698.0);
        let [c, d] = decode_score(3479447370796909.0);
        let m = distance(a, b, c, d);
        assert!((m - 166274.1516).abs() < 1e-3, "{m}");
    }

    #[test]
    fn c_conversions() {
        assert_eq!(score_to_bits(-1.0), u64::MAX);
        assert_eq!(score_to_bits(f64::INFINITY), 0);
        assert_eq!(score_to_bits(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(score_to_bits(1.9), 1);
        assert_eq!(cvtt_i64(1e300), i64::MIN);
    }

    #[test]
    fn neighbours_wrap() {
        let h = Hash { bits: 0, step: 1 };
        let n = neighbours(&h);
        assert_eq!(n.west.bits, 0b10);
        assert_eq!(n.south.bits, 0b01);
        assert_eq!(n.east.bits, 0b10);
    }
}
