package pack

// WriteAtomic is writeAtomic, for the tests of package pack_test.
var WriteAtomic = writeAtomic
