// The single Boost.Test entry point of every test executable.
#define BOOST_TEST_MODULE horde_cnode
#include <boost/test/unit_test.hpp>
