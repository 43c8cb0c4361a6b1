#pragma once
namespace foo {
int answer();
}
