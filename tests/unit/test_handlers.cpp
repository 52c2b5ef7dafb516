// The handler table (src/handlers/registry.cpp): which handler create/run
// and exec get, by annotation, by the /.kontain marker in label mode, by
// the km config file; what `start` signals; the CLI's handler flags and
// argv[0] aliases, all through the table. Every case names its km config
// (--km-config) so that the host's /etc/kiln/km.json plays no part.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "../../src/cli/cli.hpp"
#include "handlers/handler.hpp"
#include "handlers/km.hpp"
#include "kiln/error.hpp"
#include "util/fd.hpp"

using namespace kiln;

namespace {

struct Dir {
    std::string path;
    Dir() {
        char tmpl[] = "/tmp/kiln-test-handlers-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~Dir() {
        std::string cmd = "rm -rf '" + path + "'";
        [[maybe_unused]] int rc = std::system(cmd.c_str());
    }
    std::string write(const std::string &name, const std::string &text) const {
        std::string p = path + "/" + name;
        UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        REQUIRE(fd);
        REQUIRE(::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()));
        return p;
    }
};

struct Setup {
    Dir dir;
    Globals g;
    spec::Spec spec;
    explicit Setup(bool all_containers = false) {
        g.handler_options[handlers::km::kConfigOption] =
            dir.write("km.json", std::string("{\"all_containers\": ") + (all_containers ? "true" : "false") + "}");
        REQUIRE(::mkdir((dir.path + "/rootfs").c_str(), 0755) == 0);
        spec.root.emplace();
        spec.root->path = "rootfs";
    }
    std::string selected(const std::string &id = "c1") {
        return handlers::select(g, spec, id, false, dir.path)->name();
    }
};

}  // namespace

TEST_CASE("handlers: a plain container gets the default handler", "[handlers]") {
    Setup s;
    CHECK(s.selected() == std::string("default"));
}

TEST_CASE("handlers: run.oci.handler=km selects km, except for a sandbox container", "[handlers]") {
    Setup s;
    s.spec.annotations[handlers::kHandlerAnnotation] = "km";
    CHECK(s.selected() == std::string("km"));
    s.spec.annotations["io.kubernetes.cri.container-type"] = "sandbox";
    s.spec.annotations["io.kubernetes.cri.sandbox-id"] = "pod1";
    CHECK(s.selected("pod1") == std::string("default"));
    CHECK(s.selected("app1") == std::string("km"));  // an app container of the pod
}

TEST_CASE("handlers: --km and the kiln-km alias select km for every container", "[handlers]") {
    Setup s;
    handlers::apply_alias("kiln-km", s.g);
    CHECK(s.g.handler == "km");
    CHECK(s.selected() == std::string("km"));
    Globals g;
    handlers::global_flag("km")->apply(g, "true");
    CHECK(g.handler == "km");
    handlers::apply_alias("kiln-km-label", g);  // an explicit --km wins
    CHECK(g.handler == "km");
    Globals plain;
    handlers::apply_alias("kiln", plain);
    CHECK(plain.handler.empty());
}

TEST_CASE("handlers: label mode takes app.kontain.version=1 or /.kontain in the image", "[handlers]") {
    Setup s;
    handlers::apply_alias("kiln-km-label", s.g);
    REQUIRE(s.g.handler == "km-label");
    CHECK(s.selected() == std::string("default"));
    s.spec.annotations["app.kontain.version"] = "1";
    CHECK(s.selected() == std::string("km"));
    s.spec.annotations.clear();
    s.dir.write("rootfs/.kontain", "");
    CHECK(s.selected() == std::string("km"));
}

TEST_CASE("handlers: the km config file as a trigger", "[handlers]") {
    Setup all(true);
    CHECK(all.selected() == std::string("km"));
    Setup some(false);
    CHECK(some.selected() == std::string("default"));
    // An explicit --km-config that is missing is an error, never the default handler.
    some.g.handler_options[handlers::km::kConfigOption] = some.dir.path + "/absent.json";
    CHECK_THROWS_AS(some.selected(), Error);
    some.dir.write("bad.json", "{\"all_containers\": \"yes\"}");
    some.g.handler_options[handlers::km::kConfigOption] = some.dir.path + "/bad.json";
    CHECK_THROWS_WITH(some.selected(), Catch::Matchers::Contains("all_containers: must be true or false"));
}

TEST_CASE("handlers: exec and start read the handler from the state's annotations", "[handlers]") {
    Setup s;
    handlers::Annotations a;
    CHECK(handlers::for_exec(s.g, "c1", a)->name() == std::string("default"));
    CHECK(handlers::start_signal(a) == 0);
    a[handlers::kHandlerAnnotation] = "km";
    CHECK(handlers::for_exec(s.g, "c1", a)->name() == std::string("km"));
    CHECK(handlers::start_signal(a) == 0);
    a["io.kiln.km.preload"] = "true";
    CHECK(handlers::start_signal(a) == SIGUSR1);
    a[handlers::kHandlerAnnotation] = "other";
    CHECK(handlers::for_exec(s.g, "c1", a)->name() == std::string("default"));
    CHECK(handlers::start_signal(a) == 0);
}

TEST_CASE("handlers: the CLI's handler flags come from the table", "[handlers]") {
    auto ga = cli::parse_globals({"--km-label", "--km-config", "/etc/x.json", "list"});
    CHECK(ga.g.handler == "km-label");
    CHECK(ga.g.handler_options.at(handlers::km::kConfigOption) == "/etc/x.json");
    CHECK(cli::parse_globals({"--km", "--km-label", "list"}).g.handler == "km");
    CHECK(cli::parse_globals({"--km-label", "--km", "list"}).g.handler == "km");
    std::vector<std::string> flags;
    for (auto *f : handlers::global_flags()) flags.emplace_back(f->name);
    CHECK(flags == std::vector<std::string>{"km", "km-label", "km-config"});
    CHECK_FALSE(handlers::global_flag("kmx"));
}
