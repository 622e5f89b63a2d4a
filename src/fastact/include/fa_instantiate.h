/* Instantiates the type-generic header named by FA_IMPL twice: for double
 * (functions suffixed _d) and for float (_f).  The header is written in
 * FA_T (the float type), FA_U / FA_I (the unsigned / signed integer of the
 * same width), FA_DOUBLE (1 for double) and FN(name) (the suffixed name).
 *
 *     #define FA_IMPL "fa_prelu_impl.h"
 *     #include "fa_instantiate.h"
 *
 * No include guard: it is included once per generic header.  FA_IMPL is
 * undefined at the end. */

#define FA_T double
#define FA_U uint64_t
#define FA_I int64_t
#define FA_DOUBLE 1
#define FN(name) name##_d
#include FA_IMPL
#undef FA_T
#undef FA_U
#undef FA_I
#undef FA_DOUBLE
#undef FN

#define FA_T float
#define FA_U uint32_t
#define FA_I int32_t
#define FA_DOUBLE 0
#define FN(name) name##_f
#include FA_IMPL
#undef FA_T
#undef FA_U
#undef FA_I
#undef FA_DOUBLE
#undef FN

#undef FA_IMPL
