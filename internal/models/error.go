package models

// Error makes *Error a Go error; the text is the message alone, as clients
// of the reference print it.
func (x *Error) Error() string {
	return x.GetMessage()
}
