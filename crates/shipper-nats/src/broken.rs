//! Hooks for the deliberately broken variants of `shipper::broken` (cargo feature `broken`,
//! tests only). Without the feature [`is`] is the constant `false`.

pub(crate) use shipper::broken::Variant;

/// Whether `variant` is switched on for the current thread or process.
#[inline(always)]
pub(crate) fn is(variant: Variant) -> bool {
    cfg!(feature = "broken") && shipper::broken::is(variant)
}
