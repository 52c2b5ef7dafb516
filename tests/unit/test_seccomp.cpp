// The seccomp filter's attributes: a refused one is an error naming it,
// never silently dropped (the filter would load without it).
#include <catch2/catch.hpp>

#include <seccomp.h>

#include <memory>

#include "kiln/error.hpp"
#include "linux/process.hpp"

using Catch::Matchers::Contains;

TEST_CASE("set_seccomp_attr: a refused attribute is an error naming it", "[seccomp]") {
    std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(SCMP_ACT_ALLOW), seccomp_release);
    REQUIRE(ctx);
    kiln::process::set_seccomp_attr(ctx.get(), SCMP_FLTATR_CTL_NNP, 0, "SCMP_FLTATR_CTL_NNP");
    uint32_t v = 1;
    REQUIRE(seccomp_attr_get(ctx.get(), SCMP_FLTATR_CTL_NNP, &v) == 0);
    CHECK(v == 0);
    // The default action is fixed by seccomp_init: libseccomp answers -EACCES.
    CHECK_THROWS_WITH(kiln::process::set_seccomp_attr(ctx.get(), SCMP_FLTATR_ACT_DEFAULT, SCMP_ACT_KILL,
                                                      "SCMP_FLTATR_ACT_DEFAULT"),
                      "seccomp: set filter attribute SCMP_FLTATR_ACT_DEFAULT: Permission denied");
    // An attribute this libseccomp does not know.
    CHECK_THROWS_WITH(kiln::process::set_seccomp_attr(ctx.get(), 9999, 1, "attribute 9999"),
                      Contains("seccomp: set filter attribute attribute 9999: "));
}
