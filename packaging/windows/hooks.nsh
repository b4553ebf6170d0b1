; The NSIS installer's preset options, written into the machine policy by the installed app:
;
;   Switchboard_0.1.0_x64-setup.exe /S /TRUNK=sips:trunk.contoso.com
;     /TENANT=contoso.onmicrosoft.com /CLIENTID=5e3ce6c0-2b1f-4285-8d4b-75ee78787346 /LOCK
;
; As the MSI's properties: `switchboard.exe --write-policy` lays them into
; %ProgramData%\Switchboard\policy.toml, keeping the rest; options not given set nothing.

!include "FileFunc.nsh"

!macro NSIS_HOOK_POSTINSTALL
  ${GetParameters} $R0
  StrCpy $R1 ""
  StrCpy $R2 ""
  StrCpy $R3 ""
  StrCpy $R4 ""
  ClearErrors
  ${GetOptions} $R0 "/TRUNK=" $R1
  ClearErrors
  ${GetOptions} $R0 "/TENANT=" $R2
  ClearErrors
  ${GetOptions} $R0 "/CLIENTID=" $R3
  ClearErrors
  ${GetOptions} $R0 "/LOCK" $R5
  ${IfNot} ${Errors}
    StrCpy $R4 "--lock"
  ${EndIf}
  ${If} "$R1$R2$R3" != ""
    nsExec::ExecToLog '"$INSTDIR\switchboard.exe" --write-policy --trunk "$R1" --tenant "$R2" --client-id "$R3" $R4'
    Pop $0
    ${If} $0 != 0
      SetErrorLevel 2
      DetailPrint "Switchboard: the preset was not written into the machine policy ($0)"
    ${EndIf}
  ${EndIf}
!macroend
