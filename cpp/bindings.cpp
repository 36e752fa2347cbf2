// The only file that knows about Python: checks buffer layout, releases the GIL, calls the core.
// Argument validation with user-facing messages lives in the Python layer; these checks are the
// last line of defence and raise ValueError too.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eap/exp2.hpp"
#include "eap/forest.hpp"
#include "eap/forest_build.hpp"
#include "eap/isa.hpp"
#include "eap/khat.hpp"
#include "eap/knn_radii.hpp"
#include "eap/nearest.hpp"
#include "eap/rarity.hpp"
#include "eap/rounds_fit.hpp"
#include "eap/rounds_pass.hpp"
#include "eap/soft_c_transform.hpp"
#include "eap/training_pass.hpp"

namespace py = pybind11;

namespace {

template <class T>
using Array = py::array_t<T, py::array::c_style>;

template <class T>
std::size_t rows_of(const Array<T>& a, const char* name, std::size_t d) {
    if (a.ndim() != 2) throw py::value_error(std::string(name) + " must be 2-D");
    if (d && static_cast<std::size_t>(a.shape(1)) != d)
        throw py::value_error(std::string(name) + " has the wrong number of columns");
    return static_cast<std::size_t>(a.shape(0));
}

template <class T>
py::array_t<double> knn_radii(const Array<T>& C, std::int64_t k, int n_threads) {
    const std::size_t n = rows_of(C, "C", 0), d = static_cast<std::size_t>(C.shape(1));
    if (n < 2 || k < 1 || static_cast<std::size_t>(k) > n - 1)
        throw py::value_error("k must satisfy 1 <= k <= n_centres - 1");
    py::array_t<double> radii(static_cast<py::ssize_t>(n));
    const T* c = C.data();
    double* r = radii.mutable_data();
    {
        py::gil_scoped_release release;
        eap::knn_radii(c, n, d, static_cast<std::size_t>(k), n_threads, r);
    }
    return radii;
}

template <class T>
py::array_t<double> rarity_scores(const Array<T>& Z, const Array<T>& C, const Array<double>& radii,
                                  double tau, int n_threads) {
    const std::size_t n = rows_of(C, "C", 0), d = static_cast<std::size_t>(C.shape(1));
    const std::size_t l = rows_of(Z, "Z", d);
    if (radii.ndim() != 1 || static_cast<std::size_t>(radii.shape(0)) != n)
        throw py::value_error("radii must have one value per centre");
    py::array_t<double> out(static_cast<py::ssize_t>(l));
    const T *z = Z.data(), *c = C.data();
    const double* r = radii.data();
    double* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        eap::rarity_scores(z, l, c, n, d, r, tau, n_threads, o);
    }
    return out;
}

template <class T>
py::array_t<double> nearest_distances(const Array<T>& Z, const Array<T>& C, std::int64_t k,
                                      int n_threads) {
    const std::size_t n = rows_of(C, "C", 0), d = static_cast<std::size_t>(C.shape(1));
    const std::size_t l = rows_of(Z, "Z", d);
    if (n < 1) throw py::value_error("at least 1 centre is needed");
    if (k < 1 || static_cast<std::size_t>(k) > n) throw py::value_error("k must be in [1, n_centres]");
    py::array_t<double> out(static_cast<py::ssize_t>(l));
    const T *z = Z.data(), *c = C.data();
    double* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        eap::nearest_distances(z, l, c, n, d, static_cast<std::size_t>(k), n_threads, o);
    }
    return out;
}

template <class T>
py::array_t<std::int64_t> cover_ranks(const Array<T>& C, const Array<T>& A,
                                      const Array<std::int64_t>& anomaly_index, int n_threads) {
    const std::size_t n = rows_of(C, "C", 0), d = static_cast<std::size_t>(C.shape(1));
    const std::size_t m = rows_of(A, "A", d);
    if (n < 2) throw py::value_error("at least 2 centres are needed");
    if (anomaly_index.ndim() != 1 || static_cast<std::size_t>(anomaly_index.shape(0)) != m)
        throw py::value_error("anomaly_index must have one entry per anomaly");
    const std::int64_t* idx = anomaly_index.data();
    for (std::size_t a = 0; a < m; ++a)
        if (idx[a] < -1 || idx[a] >= static_cast<std::int64_t>(n))
            throw py::value_error("anomaly_index entries must be -1 or a centre row");
    py::array_t<std::int64_t> out(static_cast<py::ssize_t>(m));
    const T *c = C.data(), *an = A.data();
    std::int64_t* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        eap::cover_ranks(c, n, an, m, d, idx, n_threads, o);
    }
    return out;
}

template <class T>
std::unique_ptr<eap::TrainingPass<T>> make_training_pass(const Array<T>& X,
                                                         const Array<std::uint8_t>& is_anomaly,
                                                         const Array<double>& radius, double tau,
                                                         double eta) {
    const std::size_t n = rows_of(X, "X", 0), d = static_cast<std::size_t>(X.shape(1));
    if (is_anomaly.ndim() != 1 || static_cast<std::size_t>(is_anomaly.shape(0)) != n)
        throw py::value_error("is_anomaly must have one flag per training point");
    if (radius.ndim() != 1 || static_cast<std::size_t>(radius.shape(0)) != n)
        throw py::value_error("radius must have one value per training point");
    if (!(eta > 0)) throw py::value_error("eta must be positive");
    const T* x = X.data();
    const std::uint8_t* a = is_anomaly.data();
    const double* r = radius.data();
    py::gil_scoped_release release;
    return std::make_unique<eap::TrainingPass<T>>(x, n, d, a, r, tau, eta);
}

template <class T>
py::tuple score_training_pass(const eap::TrainingPass<T>& pass, const Array<T>& Z, int n_threads,
                              bool exact) {
    const std::size_t l = rows_of(Z, "Z", pass.dim());
    py::array_t<double> w_pos(static_cast<py::ssize_t>(l)), w_neg(static_cast<py::ssize_t>(l)),
        rarity(static_cast<py::ssize_t>(l));
    const T* z = Z.data();
    double *p = w_pos.mutable_data(), *q = w_neg.mutable_data(), *r = rarity.mutable_data();
    {
        py::gil_scoped_release release;
        pass.score(z, l, n_threads, p, q, r, exact);
    }
    return py::make_tuple(w_pos, w_neg, rarity);
}

template <class T>
py::array_t<bool> expanded_rows(const eap::TrainingPass<T>& pass, const Array<T>& Z) {
    const std::size_t l = rows_of(Z, "Z", pass.dim());
    py::array_t<bool> out(static_cast<py::ssize_t>(l));
    static_assert(sizeof(bool) == sizeof(std::uint8_t));
    const T* z = Z.data();
    auto* o = reinterpret_cast<std::uint8_t*>(out.mutable_data());
    py::gil_scoped_release release;
    pass.expanded_rows(z, l, o);
    return out;
}

const std::uint8_t* one_per(const Array<std::uint8_t>& a, const char* name, std::size_t n) {
    if (a.ndim() != 1 || static_cast<std::size_t>(a.shape(0)) != n)
        throw py::value_error(std::string(name) + " has the wrong length");
    return a.data();
}

// Rounds from offsets (R + 1, from 0 to len(rows)) and rows (increasing within each round,
// indices of the n training points).
eap::Rounds rounds_of(const Array<std::int64_t>& offsets, const Array<std::int64_t>& rows,
                      std::size_t n) {
    if (offsets.ndim() != 1 || offsets.shape(0) < 2 || rows.ndim() != 1)
        throw py::value_error("offsets and rows must be 1-D, with at least one round");
    const std::int64_t *o = offsets.data(), *x = rows.data();
    const std::size_t R = static_cast<std::size_t>(offsets.shape(0)) - 1;
    if (o[0] != 0 || o[R] != rows.shape(0))
        throw py::value_error("offsets must run from 0 to len(rows)");
    for (std::size_t r = 0; r < R; ++r) {
        if (o[r + 1] < o[r] + 2) throw py::value_error("every round needs 2 rows");
        for (std::int64_t q = o[r]; q < o[r + 1]; ++q)
            if (x[q] < 0 || x[q] >= static_cast<std::int64_t>(n) || (q > o[r] && x[q] <= x[q - 1]))
                throw py::value_error("round rows must be increasing training-point indices");
    }
    return {o, R, x};
}

template <class T>
py::array_t<T> to_array(const std::vector<T>& v) {
    return py::array_t<T>(static_cast<py::ssize_t>(v.size()), v.data());
}

py::array_t<double> values(std::size_t rows, std::size_t cols) {
    return py::array_t<double>({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)});
}

template <class T>
std::unique_ptr<eap::RoundsPass<T>> make_rounds_pass(
    const Array<T>& X, const Array<std::uint8_t>& is_anomaly, const Array<std::int64_t>& offsets,
    const Array<std::int64_t>& rows, const Array<double>& radius, double tau,
    const Array<double>& eta, int n_threads) {
    const std::size_t n = rows_of(X, "X", 0), d = static_cast<std::size_t>(X.shape(1));
    const eap::Rounds rounds = rounds_of(offsets, rows, n);
    if (radius.ndim() != 1 || radius.shape(0) != rows.shape(0))
        throw py::value_error("radius must have one value per round row");
    if (eta.ndim() != 1 || static_cast<std::size_t>(eta.shape(0)) != rounds.count)
        throw py::value_error("eta must have one value per round");
    const T* x = X.data();
    const std::uint8_t* a = one_per(is_anomaly, "is_anomaly", n);
    const double *r = radius.data(), *e = eta.data();
    py::gil_scoped_release release;
    return std::make_unique<eap::RoundsPass<T>>(x, n, d, a, rounds, r, tau, e, n_threads);
}

template <class T>
py::tuple score_rounds_pass(const eap::RoundsPass<T>& pass, const Array<T>& Z, int n_threads) {
    const std::size_t l = rows_of(Z, "Z", pass.dim()), R = pass.n_rounds();
    auto w_pos = values(R, l), w_neg = values(R, l), rarity = values(R, l);
    const T* z = Z.data();
    double *p = w_pos.mutable_data(), *q = w_neg.mutable_data(), *r = rarity.mutable_data();
    {
        py::gil_scoped_release release;
        pass.score(z, l, n_threads, p, q, r);
    }
    return py::make_tuple(w_pos, w_neg, rarity);
}

// Per round: (the walker of its forest, whose node_arrays() are build_isolation_forest's on the
// round's rows, and the depths of those rows).
py::list forest_list(std::vector<eap::ForestRound>& built) {
    py::list out;
    for (eap::ForestRound& round : built)
        out.append(py::make_tuple(py::cast(std::move(round.paths)), to_array(round.depths)));
    return out;
}

// The checked arguments of build_forest_rounds beyond the rounds.
struct ForestArgs {
    const float* x;
    std::size_t d;
    const std::uint64_t* seeds;
    std::size_t n_estimators, max_samples;

    std::vector<eap::ForestRound> build(const eap::Rounds& rounds, int n_threads) const {
        return eap::build_forest_rounds(x, d, rounds, seeds, n_estimators, max_samples, n_threads);
    }
};

ForestArgs forest_args(const Array<float>& X, std::size_t rounds, const Array<std::uint64_t>& seeds,
                       std::int64_t n_estimators, std::int64_t max_samples) {
    if (seeds.ndim() != 1 || static_cast<std::size_t>(seeds.shape(0)) != rounds)
        throw py::value_error("seeds must hold one seed per round");
    if (n_estimators < 1) throw py::value_error("n_estimators must be at least 1");
    if (max_samples < 1) throw py::value_error("max_samples must be at least 1");
    return {X.data(), static_cast<std::size_t>(X.shape(1)), seeds.data(),
            static_cast<std::size_t>(n_estimators), static_cast<std::size_t>(max_samples)};
}

py::list build_forest_rounds(const Array<float>& X, const Array<std::int64_t>& offsets,
                             const Array<std::int64_t>& rows, const Array<std::uint64_t>& seeds,
                             std::int64_t n_estimators, std::int64_t max_samples, int n_threads) {
    const eap::Rounds rounds = rounds_of(offsets, rows, rows_of(X, "X", 0));
    const ForestArgs forest = forest_args(X, rounds.count, seeds, n_estimators, max_samples);
    std::vector<eap::ForestRound> built;
    {
        py::gil_scoped_release release;
        built = forest.build(rounds, n_threads);
    }
    return forest_list(built);
}

// The first of a bagged fit's two core calls: everything that needs neither k-hat nor eta.
// Returns (the pairwise distances of X, delta, cover, forests): delta and cover as
// PairwiseDistances::neighbours gives them, forests as build_forest_rounds on forest_X (X's
// rows as the prior sees them) when it is given, else None.
template <class T>
py::tuple neighbours_and_forests(const Array<T>& X, const Array<std::int64_t>& offsets,
                                 const Array<std::int64_t>& rows, const Array<std::uint8_t>& is_centre,
                                 std::int64_t k, const Array<std::int64_t>& anomalies, int n_threads,
                                 const std::optional<Array<float>>& forest_X,
                                 const std::optional<Array<std::uint64_t>>& seeds,
                                 std::int64_t n_estimators, std::int64_t max_samples) {
    const std::size_t n = rows_of(X, "X", 0), d = static_cast<std::size_t>(X.shape(1));
    const eap::Rounds rounds = rounds_of(offsets, rows, n);
    const std::size_t len = static_cast<std::size_t>(rows.shape(0));
    const std::uint8_t* c = one_per(is_centre, "is_centre", len);
    if (k < 1) throw py::value_error("k must be at least 1");
    if (anomalies.ndim() != 1) throw py::value_error("anomalies must be 1-D");
    const std::size_t m = static_cast<std::size_t>(anomalies.shape(0));
    const std::int64_t* a = anomalies.data();
    for (std::size_t u = 0; u < m; ++u)
        if (a[u] < 0 || a[u] >= static_cast<std::int64_t>(n))
            throw py::value_error("anomalies must index the training points");
    if (forest_X.has_value() != seeds.has_value())
        throw py::value_error("forest_X and seeds go together");
    std::optional<ForestArgs> forest;
    if (forest_X) {
        if (rows_of(*forest_X, "forest_X", d) != n)
            throw py::value_error("forest_X must have X's shape");
        forest = forest_args(*forest_X, rounds.count, *seeds, n_estimators, max_samples);
    }
    py::array_t<double> delta(static_cast<py::ssize_t>(len));
    py::array_t<std::int64_t> cover({static_cast<py::ssize_t>(rounds.count), static_cast<py::ssize_t>(m)});
    double* dl = delta.mutable_data();
    std::int64_t* cv = cover.mutable_data();
    const T* x = X.data();
    std::unique_ptr<eap::PairwiseDistances<T>> distances;
    std::vector<eap::ForestRound> built;
    {
        py::gil_scoped_release release;
        distances = std::make_unique<eap::PairwiseDistances<T>>(x, n, d, n_threads);
        distances->neighbours(rounds, c, static_cast<std::size_t>(k), a, m, n_threads, dl, cv);
        if (forest) built = forest->build(rounds, n_threads);
    }
    return py::make_tuple(py::cast(std::move(distances)), delta, cover,
                          forest ? py::object(forest_list(built)) : py::object(py::none()));
}

template <class T>
py::tuple round_balls_and_kernels(const eap::PairwiseDistances<T>& D,
                                  const Array<std::int64_t>& offsets,
                                  const Array<std::int64_t>& rows,
                                  const Array<std::uint8_t>& is_centre, const Array<std::int64_t>& k,
                                  const Array<std::uint8_t>& is_anomaly, const Array<double>& eta,
                                  double tau, int n_threads) {
    const eap::Rounds rounds = rounds_of(offsets, rows, D.size());
    const std::size_t len = static_cast<std::size_t>(rows.shape(0));
    const std::uint8_t* c = one_per(is_centre, "is_centre", len);
    const std::uint8_t* a = one_per(is_anomaly, "is_anomaly", D.size());
    if (k.ndim() != 1 || static_cast<std::size_t>(k.shape(0)) != rounds.count ||
        eta.ndim() != 1 || static_cast<std::size_t>(eta.shape(0)) != rounds.count)
        throw py::value_error("k and eta must have one value per round");
    py::array_t<double> radius(static_cast<py::ssize_t>(len)), w_pos(static_cast<py::ssize_t>(len)),
        w_neg(static_cast<py::ssize_t>(len)), rarity(static_cast<py::ssize_t>(len));
    const std::int64_t* kk = k.data();
    const double* e = eta.data();
    double *ra = radius.mutable_data(), *p = w_pos.mutable_data(), *q = w_neg.mutable_data(),
           *rr = rarity.mutable_data();
    {
        py::gil_scoped_release release;
        D.balls_and_kernels(rounds, c, kk, a, e, tau, n_threads, ra, p, q, rr);
    }
    return py::make_tuple(radius, w_pos, w_neg, rarity);
}

template <class T>
void bind_rounds(py::module_& m, const char* pass_name, const char* pairwise_name) {
    py::class_<eap::RoundsPass<T>>(m, pass_name,
                                   "Training points packed once for the passes of many rounds.")
        .def(py::init(&make_rounds_pass<T>), py::arg("X").noconvert(),
             py::arg("is_anomaly").noconvert(), py::arg("offsets").noconvert(),
             py::arg("rows").noconvert(), py::arg("radius").noconvert(), py::arg("tau"),
             py::arg("eta").noconvert(), py::arg("n_threads"))
        .def("score", &score_rounds_pass<T>, py::arg("Z").noconvert(), py::arg("n_threads"),
             "Returns (w_pos, w_neg, rarity), float64 arrays (rounds, rows of Z).");
    py::class_<eap::PairwiseDistances<T>>(m, pairwise_name,
                                          "Exact squared distances between all training points.")
        .def("balls_and_kernels", &round_balls_and_kernels<T>, py::arg("offsets").noconvert(),
             py::arg("rows").noconvert(), py::arg("is_centre").noconvert(),
             py::arg("k").noconvert(), py::arg("is_anomaly").noconvert(),
             py::arg("eta").noconvert(), py::arg("tau"), py::arg("n_threads"),
             "Returns (radius, w_pos, w_neg, rarity) per round row.");
    m.def("neighbours_and_forests", &neighbours_and_forests<T>, py::arg("X").noconvert(),
          py::arg("offsets").noconvert(), py::arg("rows").noconvert(),
          py::arg("is_centre").noconvert(), py::arg("k"), py::arg("anomalies").noconvert(),
          py::arg("n_threads"), py::kw_only(), py::arg("forest_X").noconvert() = py::none(),
          py::arg("seeds").noconvert() = py::none(), py::arg("n_estimators") = 100,
          py::arg("max_samples") = 256,
          "Returns (pairwise distances, delta, cover, forests): the bandwidth distance of each "
          "round row (its min(k, rows - 1)-th nearest other row of the round), the cover ranks "
          "(rounds, m) of the anomalies against each round's centres, and build_forest_rounds' "
          "result on forest_X with seeds (None without them).");
}

template <class T>
void bind_dtype(py::module_& m, const char* pass_name) {
    py::class_<eap::TrainingPass<T>>(m, pass_name,
                                     "Training points packed for the fused candidate pass.")
        .def(py::init(&make_training_pass<T>), py::arg("X").noconvert(),
             py::arg("is_anomaly").noconvert(), py::arg("radius").noconvert(), py::arg("tau"),
             py::arg("eta"))
        .def("score", &score_training_pass<T>, py::arg("Z").noconvert(), py::arg("n_threads"),
             py::kw_only(), py::arg("exact") = false,
             "Returns (w_pos, w_neg, rarity), float64 arrays of one value per row of Z; exact: "
             "every distance as an exact sum (no GEMM expansion).")
        .def("_expanded_rows", &expanded_rows<T>, py::arg("Z").noconvert(),
             "Test hook: True for each row of Z whose distances use the GEMM expansion.");
    m.def("knn_radii", &knn_radii<T>, py::arg("C").noconvert(), py::arg("k"), py::arg("n_threads"));
    m.def("rarity_scores", &rarity_scores<T>, py::arg("Z").noconvert(), py::arg("C").noconvert(),
          py::arg("radii").noconvert(), py::arg("tau"), py::arg("n_threads"));
    m.def("nearest_distances", &nearest_distances<T>, py::arg("Z").noconvert(),
          py::arg("C").noconvert(), py::arg("k"), py::arg("n_threads"));
    m.def("cover_ranks", &cover_ranks<T>, py::arg("C").noconvert(), py::arg("A").noconvert(),
          py::arg("anomaly_index").noconvert(), py::arg("n_threads"));
}

template <class T>
std::vector<T> to_vector(const Array<T>& a, const char* name) {
    if (a.ndim() != 1) throw py::value_error(std::string(name) + " must be 1-D");
    return std::vector<T>(a.data(), a.data() + a.shape(0));
}

std::unique_ptr<eap::IsolationForestPaths> make_forest(
    const Array<std::int64_t>& root, const Array<std::int64_t>& left,
    const Array<std::int64_t>& right, const Array<std::int64_t>& feature,
    const Array<double>& threshold, const Array<double>& leaf_value, std::size_t n_features) {
    // pybind11 translates the constructor's std::invalid_argument into ValueError.
    return std::make_unique<eap::IsolationForestPaths>(
        eap::ForestNodes{to_vector(root, "root"), to_vector(left, "left"), to_vector(right, "right"),
                         to_vector(feature, "feature"), to_vector(threshold, "threshold"),
                         to_vector(leaf_value, "leaf_value")},
        n_features);
}

py::array_t<double> forest_depths(const eap::IsolationForestPaths& forest, const Array<float>& Z,
                                  int n_threads) {
    const std::size_t l = rows_of(Z, "Z", forest.n_features());
    py::array_t<double> out(static_cast<py::ssize_t>(l));
    const float* z = Z.data();
    double* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        forest.depths(z, l, n_threads, o);
    }
    return out;
}

// objects: the walkers, held for the call (the caller's list may change while the GIL is out).
py::array_t<double> forests_depths(const std::vector<py::object>& objects, const Array<float>& Z,
                                   int n_threads) {
    if (objects.empty()) throw py::value_error("forests must not be empty");
    std::vector<const eap::IsolationForestPaths*> forests;
    for (const py::object& object : objects) {
        if (!py::isinstance<eap::IsolationForestPaths>(object))
            throw py::type_error("forests must be IsolationForestPaths");
        forests.push_back(object.cast<const eap::IsolationForestPaths*>());
        if (forests.back()->n_features() != forests[0]->n_features())
            throw py::value_error("forests must all take the same number of features");
    }
    const std::size_t l = rows_of(Z, "Z", forests[0]->n_features());
    py::array_t<double> out({static_cast<py::ssize_t>(forests.size()), static_cast<py::ssize_t>(l)});
    const float* z = Z.data();
    double* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        eap::depths_of_forests(forests, z, l, n_threads, o);
    }
    return out;
}

py::tuple node_arrays(const eap::ForestNodes& nodes) {
    return py::make_tuple(to_array(nodes.root), to_array(nodes.left), to_array(nodes.right),
                          to_array(nodes.feature), to_array(nodes.threshold),
                          to_array(nodes.leaf_value));
}

py::tuple build_isolation_forest(const Array<float>& X, std::int64_t n_estimators,
                                 std::int64_t max_samples, std::uint64_t seed, int n_threads) {
    const std::size_t n = rows_of(X, "X", 0), d = static_cast<std::size_t>(X.shape(1));
    if (n_estimators < 1) throw py::value_error("n_estimators must be at least 1");
    if (max_samples < 1) throw py::value_error("max_samples must be at least 1");
    const float* x = X.data();
    eap::ForestNodes nodes;
    {
        py::gil_scoped_release release;
        // std::invalid_argument (bad sizes, non-finite X) reaches Python as ValueError.
        nodes = eap::build_isolation_forest(x, n, d, static_cast<std::size_t>(n_estimators),
                                            static_cast<std::size_t>(max_samples), seed, n_threads);
    }
    return node_arrays(nodes);
}

py::array_t<double> soft_c_transform(const Array<double>& C, const Array<double>& g,
                                     const Array<double>& log_b, double eps, int n_threads) {
    const std::size_t rows = rows_of(C, "C", 0), cols = static_cast<std::size_t>(C.shape(1));
    if (cols == 0) throw py::value_error("C must have at least one column");
    if (g.ndim() != 1 || static_cast<std::size_t>(g.shape(0)) != cols)
        throw py::value_error("g must have one value per column of C");
    if (log_b.ndim() != 1 || static_cast<std::size_t>(log_b.shape(0)) != cols)
        throw py::value_error("log_b must have one value per column of C");
    if (!(eps > 0) || !std::isfinite(eps)) throw py::value_error("eps must be positive and finite");
    py::array_t<double> out(static_cast<py::ssize_t>(rows));
    const double *c = C.data(), *gp = g.data(), *lb = log_b.data();
    double* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        eap::soft_c_transform(c, rows, cols, gp, lb, eps, n_threads, o);
    }
    return out;
}

template <class T>
py::array_t<T> exp2_negative(const Array<T>& x) {
    if (x.ndim() != 1) throw py::value_error("x must be 1-D");
    py::array_t<T> out(x.shape(0));
    eap::exp2_negative(x.data(), static_cast<std::size_t>(x.shape(0)), out.mutable_data());
    return out;
}

void set_isa(const std::string& name) {
    if (name == "auto")
        eap::force_isa_auto();
    else
        eap::force_isa(eap::isa_from_name(name));
}

std::vector<std::string> supported_isas() {
    std::vector<std::string> names;
    for (eap::Isa isa : eap::supported_isas()) names.emplace_back(eap::isa_name(isa));
    return names;
}

bool has_openmp() {
#ifdef _OPENMP
    return true;
#else
    return false;
#endif
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "C++/OpenMP core of eap-anomaly (inputs are validated by the Python layer)";
    bind_dtype<float>(m, "TrainingPassF32");
    bind_dtype<double>(m, "TrainingPassF64");
    bind_rounds<float>(m, "RoundsPassF32", "PairwiseDistancesF32");
    bind_rounds<double>(m, "RoundsPassF64", "PairwiseDistancesF64");
    py::class_<eap::IsolationForestPaths>(m, "IsolationForestPaths",
                                          "Node arrays of a fitted Isolation Forest.")
        .def(py::init(&make_forest), py::arg("root").noconvert(), py::arg("left").noconvert(),
             py::arg("right").noconvert(), py::arg("feature").noconvert(),
             py::arg("threshold").noconvert(), py::arg("leaf_value").noconvert(),
             py::arg("n_features"))
        .def("depths", &forest_depths, py::arg("Z").noconvert(), py::arg("n_threads"),
             "Sum over trees of the leaf values reached by each float32 row of Z.")
        .def("_level_walk", &eap::IsolationForestPaths::level_walk,
             "Test hook: whether walks take the AVX-512 level walk now.")
        .def("node_arrays",
             [](const eap::IsolationForestPaths& forest) { return node_arrays(forest.node_arrays()); },
             "The node arrays (root, left, right, feature, threshold, leaf_value) it was built "
             "from, new copies (a leaf's feature reads 0).");
    m.def("build_isolation_forest", &build_isolation_forest, py::arg("X").noconvert(),
          py::arg("n_estimators"), py::arg("max_samples"), py::arg("seed"), py::arg("n_threads"),
          "Node arrays (root, left, right, feature, threshold, leaf_value) of an Isolation "
          "Forest built on the float32 rows of X, a pure function of (X, n_estimators, "
          "max_samples, seed).");
    m.def("forests_depths", &forests_depths, py::arg("forests"), py::arg("Z").noconvert(),
          py::arg("n_threads"),
          "(forests, rows of Z): each forest's depths of the float32 rows of Z, as its depths "
          "method gives them, all forests in one parallel region.");
    m.def("build_forest_rounds", &build_forest_rounds, py::arg("X").noconvert(),
          py::arg("offsets").noconvert(), py::arg("rows").noconvert(), py::arg("seeds").noconvert(),
          py::arg("n_estimators"), py::arg("max_samples"), py::arg("n_threads"),
          "Per bagging round (rows[offsets[r]:offsets[r + 1]] of X, seeds[r]): the "
          "IsolationForestPaths of the forest build_isolation_forest builds on those rows with "
          "min(max_samples, rows) samples (its node_arrays() are that function's), and the "
          "depths of those rows; rounds in parallel.");
    m.def("soft_c_transform", &soft_c_transform, py::arg("C").noconvert(), py::arg("g").noconvert(),
          py::arg("log_b").noconvert(), py::arg("eps"), py::arg("n_threads"),
          "out[i] = -eps log sum_j exp(log_b[j] + (g[j] - C[i, j]) / eps) for the float64 rows "
          "of C: the soft c-transform of the LAVA baseline's Sinkhorn sweeps.");
    m.def("has_openmp", &has_openmp, "Whether the core was built with OpenMP.");
    // Private hooks for tests and benchmarks.
    m.def("_exp2_negative", &exp2_negative<float>, py::arg("x").noconvert(),
          "2^x for x in [-70, 0] as the float32 kernel computes it.");
    m.def("_exp2_negative", &exp2_negative<double>, py::arg("x").noconvert(),
          "2^x for x in [-70, 0] as the float64 kernel computes it.");
    m.def("_isa", [] { return std::string(eap::isa_name(eap::active_isa())); },
          "Instruction set the vector kernels run on.");
    m.def("_set_isa", &set_isa, py::arg("name"),
          "Force 'baseline', 'avx2' or 'avx512' (ValueError if the CPU lacks it), or 'auto'.");
    m.def("_supported_isas", &supported_isas, "Instruction sets this CPU runs.");
}
