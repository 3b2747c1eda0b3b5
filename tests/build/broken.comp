// A shader with an error on line 6, for tests/build/shader_errors.cmake.
#version 450
layout(local_size_x = 1) in;
void main()
{
	undeclared_thing = 1;
}
