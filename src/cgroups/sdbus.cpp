// The sd-bus shim: the few libsystemd functions the systemd driver calls,
// listed once and resolved with dlopen on first use (kiln does not load
// libsystemd otherwise), and one connection to the system bus.
#include "cgroups/sdbus.hpp"

#include <systemd/sd-bus.h>
#include <time.h>

#include <cstring>

#include "kiln/error.hpp"
#include "util/dl.hpp"

namespace kiln::cgroups {
namespace {

#define KILN_SDBUS_FUNCTIONS(X) \
    X(sd_bus_open_system) \
    X(sd_bus_flush_close_unref) \
    X(sd_bus_message_new_method_call) \
    X(sd_bus_message_unref) \
    X(sd_bus_message_append) \
    X(sd_bus_message_append_basic) \
    X(sd_bus_message_append_array) \
    X(sd_bus_message_open_container) \
    X(sd_bus_message_close_container) \
    X(sd_bus_message_read) \
    X(sd_bus_call) \
    X(sd_bus_call_method) \
    X(sd_bus_match_signal) \
    X(sd_bus_slot_unref) \
    X(sd_bus_process) \
    X(sd_bus_wait) \
    X(sd_bus_error_free) \
    X(sd_bus_error_has_name)

struct SdBus {
#define KILN_SD(fn) decltype(&::fn) fn = nullptr;
    KILN_SDBUS_FUNCTIONS(KILN_SD)
#undef KILN_SD
};

const SdBus &sdbus() {
    static SdBus s;
    static bool loaded = false;
    if (loaded) return s;
    dl::Library lib("libsystemd.so.0", "libsystemd", "--systemd-cgroup");
#define KILN_SYM(fn) lib.get(s.fn, #fn);
    KILN_SDBUS_FUNCTIONS(KILN_SYM)
#undef KILN_SYM
    loaded = true;
    return s;
}

const char kDest[] = "org.freedesktop.systemd1";
const char kPath[] = "/org/freedesktop/systemd1";
const char kIface[] = "org.freedesktop.systemd1.Manager";

void check(int r, const char *what) {
    if (r < 0) throw_errno(std::string("systemd: ") + what, -r);
}

}  // namespace

// The connection, with the JobRemoved signals collected.
struct Bus::Impl {
    Impl() : sd_(sdbus()) {
        check(sd_.sd_bus_open_system(&bus_), "connect to the system bus");
        check(sd_.sd_bus_match_signal(bus_, &slot_, kDest, kPath, kIface, "JobRemoved", on_job_removed, this),
              "subscribe to JobRemoved");
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = nullptr;
        // systemd only emits job signals while someone has subscribed.
        sd_.sd_bus_call_method(bus_, kDest, kPath, kIface, "Subscribe", &err, &reply, "");
        sd_.sd_bus_error_free(&err);
        sd_.sd_bus_message_unref(reply);
    }
    ~Impl() {
        sd_.sd_bus_slot_unref(slot_);
        sd_.sd_bus_flush_close_unref(bus_);
    }
    Impl(const Impl &) = delete;
    Impl &operator=(const Impl &) = delete;

    // Calls method(name, "replace", [props]...) and waits for its job; returns
    // the job's result ("done", "failed" ...) or "exists" for UnitExists.
    std::string job_call(const char *method, const std::string &unit, const std::vector<Property> *props) {
        sd_bus_message *m = nullptr;
        check(sd_.sd_bus_message_new_method_call(bus_, &m, kDest, kPath, kIface, method), "new method call");
        Msg hold{sd_, m};
        check(sd_.sd_bus_message_append(m, "ss", unit.c_str(), "replace"), "append");
        if (props) {
            append_properties(m, *props);
            check(sd_.sd_bus_message_append(m, "a(sa(sv))", 0), "append aux");
        }
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = nullptr;
        int r = sd_.sd_bus_call(bus_, m, 30'000'000, &err, &reply);
        Msg hold_reply{sd_, reply};
        if (r < 0) {
            std::string name = err.name ? err.name : "", msg = err.message ? err.message : std::strerror(-r);
            bool exists = sd_.sd_bus_error_has_name(&err, "org.freedesktop.systemd1.UnitExists");
            bool missing = sd_.sd_bus_error_has_name(&err, "org.freedesktop.systemd1.NoSuchUnit");
            sd_.sd_bus_error_free(&err);
            if (exists) return "exists";
            if (missing) return "missing";
            throw Error(std::string("systemd ") + method + " " + unit + ": " + msg);
        }
        const char *job = nullptr;
        check(sd_.sd_bus_message_read(reply, "o", &job), "read job");
        return wait_job(job);
    }

    void set_properties(const std::string &unit, const std::vector<Property> &props) {
        sd_bus_message *m = nullptr;
        check(sd_.sd_bus_message_new_method_call(bus_, &m, kDest, kPath, kIface, "SetUnitProperties"), "new method call");
        Msg hold{sd_, m};
        check(sd_.sd_bus_message_append(m, "sb", unit.c_str(), 1), "append");
        append_properties(m, props);
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = nullptr;
        int r = sd_.sd_bus_call(bus_, m, 30'000'000, &err, &reply);
        Msg hold_reply{sd_, reply};
        if (r < 0) {
            std::string msg = err.message ? err.message : std::strerror(-r);
            sd_.sd_bus_error_free(&err);
            throw Error("systemd SetUnitProperties " + unit + ": " + msg);
        }
    }

    void reset_failed(const std::string &unit) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = nullptr;
        sd_.sd_bus_call_method(bus_, kDest, kPath, kIface, "ResetFailedUnit", &err, &reply, "s", unit.c_str());
        sd_.sd_bus_error_free(&err);
        sd_.sd_bus_message_unref(reply);
    }

    struct Msg {
        const SdBus &sd;
        sd_bus_message *m;
        ~Msg() {
            if (m) sd.sd_bus_message_unref(m);
        }
    };

    static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *) {
        auto *self = static_cast<Impl *>(userdata);
        uint32_t id;
        const char *job = nullptr, *unit = nullptr, *result = nullptr;
        if (self->sd_.sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0 && job && result)
            self->removed_.emplace_back(job, result);
        return 0;
    }

    std::string wait_job(const std::string &job) {
        struct timespec start;
        ::clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
            for (auto &[j, result] : removed_)
                if (j == job) return result;
            int r = sd_.sd_bus_process(bus_, nullptr);
            check(r, "process bus");
            if (r > 0) continue;
            struct timespec now;
            ::clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - start.tv_sec >= 30) throw Error("timed out waiting for systemd job " + job);
            check(sd_.sd_bus_wait(bus_, 1'000'000), "wait on bus");
        }
    }

    void append_property(sd_bus_message *m, const Property &p) {
        check(sd_.sd_bus_message_open_container(m, 'r', "sv"), "open property");
        check(sd_.sd_bus_message_append_basic(m, 's', p.name.c_str()), "append name");
        check(sd_.sd_bus_message_open_container(m, 'v', p.sig.c_str()), "open variant");
        char t = p.sig[0];
        if (p.sig == "as") {
            check(sd_.sd_bus_message_open_container(m, 'a', "s"), "open array");
            for (auto &s : p.strs) check(sd_.sd_bus_message_append_basic(m, 's', s.c_str()), "append");
            check(sd_.sd_bus_message_close_container(m), "close array");
        } else if (p.sig == "au") {
            check(sd_.sd_bus_message_open_container(m, 'a', "u"), "open array");
            for (auto v : p.u32s) check(sd_.sd_bus_message_append_basic(m, 'u', &v), "append");
            check(sd_.sd_bus_message_close_container(m), "close array");
        } else if (p.sig == "ay") {
            check(sd_.sd_bus_message_append_array(m, 'y', p.bytes.data(), p.bytes.size()), "append bytes");
        } else if (p.sig == "a(ss)") {
            check(sd_.sd_bus_message_open_container(m, 'a', "(ss)"), "open array");
            for (auto &[a, b] : p.pairs) check(sd_.sd_bus_message_append(m, "(ss)", a.c_str(), b.c_str()), "append");
            check(sd_.sd_bus_message_close_container(m), "close array");
        } else if (t == 's') {
            check(sd_.sd_bus_message_append_basic(m, 's', p.s.c_str()), "append");
        } else if (t == 'b') {
            int v = p.b;
            check(sd_.sd_bus_message_append_basic(m, 'b', &v), "append");
        } else if (t == 'd') {
            check(sd_.sd_bus_message_append_basic(m, 'd', &p.d), "append");
        } else if (t == 't' || t == 'u' || t == 'q' || t == 'y') {
            uint64_t v64 = p.u;
            uint32_t v32 = uint32_t(p.u);
            uint16_t v16 = uint16_t(p.u);
            uint8_t v8 = uint8_t(p.u);
            const void *v = t == 't' ? (const void *)&v64 : t == 'u' ? (const void *)&v32 : t == 'q' ? (const void *)&v16 : &v8;
            check(sd_.sd_bus_message_append_basic(m, t, v), "append");
        } else if (t == 'x' || t == 'i' || t == 'n') {
            int64_t v64 = p.i;
            int32_t v32 = int32_t(p.i);
            int16_t v16 = int16_t(p.i);
            const void *v = t == 'x' ? (const void *)&v64 : t == 'i' ? (const void *)&v32 : &v16;
            check(sd_.sd_bus_message_append_basic(m, t, v), "append");
        } else {
            throw Error("systemd property " + p.name + ": unsupported type " + p.sig);
        }
        check(sd_.sd_bus_message_close_container(m), "close variant");
        check(sd_.sd_bus_message_close_container(m), "close property");
    }

    void append_properties(sd_bus_message *m, const std::vector<Property> &props) {
        check(sd_.sd_bus_message_open_container(m, 'a', "(sv)"), "open properties");
        for (auto &p : props) append_property(m, p);
        check(sd_.sd_bus_message_close_container(m), "close properties");
    }

    const SdBus &sd_;
    sd_bus *bus_ = nullptr;
    sd_bus_slot *slot_ = nullptr;
    std::vector<std::pair<std::string, std::string>> removed_;
};

Bus::Bus() : impl_(std::make_unique<Impl>()) {}
Bus::~Bus() = default;

void Bus::load() { sdbus(); }

std::string Bus::job_call(const char *method, const std::string &unit, const std::vector<Property> *props) {
    return impl_->job_call(method, unit, props);
}

void Bus::set_properties(const std::string &unit, const std::vector<Property> &props) { impl_->set_properties(unit, props); }

void Bus::reset_failed(const std::string &unit) { impl_->reset_failed(unit); }

}  // namespace kiln::cgroups
